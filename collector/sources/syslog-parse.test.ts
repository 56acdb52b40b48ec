import { describe, expect, it, test } from 'vitest';
import { parseSyslog } from './syslog-parse.js';
import { TcpFramer } from './syslog.js';

const ctx = { service: 'syslog', peer: '10.0.0.9', nowMs: Date.parse('2026-12-05T07:00:00Z') };

describe('parseSyslog', () => {
  it('reads RFC 5424 with structured data, escapes, fractional seconds and the BOM', () => {
    const r = parseSyslog(
      '<165>1 2003-10-11T22:14:15.003123Z mymachine.example.com evntslog 1234 ID47 [exampleSDID@32473 iut="3" eventSource="Application"][x@1 a="b\\"c\\]d"] \uFEFFAn application event\n',
      ctx,
    );
    expect(r).toMatchObject({
      body: 'An application event',
      severityNumber: 10,
      severityText: 'notice',
      timeUnixNano: 1065910455003123000n,
      resource: { 'service.name': 'evntslog', 'host.name': 'mymachine.example.com' },
    });
    expect(r.attributes).toEqual({
      'syslog.facility': 20,
      'syslog.severity': 5,
      'syslog.version': 1,
      'syslog.procid': '1234',
      'syslog.msgid': 'ID47',
      'syslog.sd.exampleSDID@32473.iut': '3',
      'syslog.sd.exampleSDID@32473.eventSource': 'Application',
      'syslog.sd.x@1.a': 'b"c]d',
    });
  });

  it('reads RFC 5424 nil values: the peer and the configured service stand in', () => {
    const r = parseSyslog('<11>1 - - - - - - disk failing', ctx);
    expect(r).toMatchObject({ body: 'disk failing', severityText: 'err', severityNumber: 17, timeUnixNano: 0n, resource: { 'service.name': 'syslog', 'host.name': '10.0.0.9' } });
    expect(r.attributes).toEqual({ 'syslog.facility': 1, 'syslog.severity': 3, 'syslog.version': 1 });
  });

  it('reads RFC 3164: tag, pid, host; no year means this year (or last, for a time ahead)', () => {
    const r = parseSyslog('<34>Oct 11 22:14:15 mymachine su[230]: su root failed on /dev/pts/8', ctx);
    expect(r).toMatchObject({
      body: 'su root failed on /dev/pts/8',
      severityText: 'crit',
      timeUnixNano: BigInt(Date.parse('2026-10-11T22:14:15Z')) * 1_000_000n,
      resource: { 'service.name': 'su', 'host.name': 'mymachine' },
    });
    expect(r.attributes['syslog.procid']).toBe('230');
    const late = parseSyslog('<30>Dec 31 23:59:00 host cron: tick', ctx);
    expect(late.timeUnixNano).toBe(BigInt(Date.parse('2025-12-31T23:59:00Z')) * 1_000_000n);
  });

  it('keeps what does not parse whole, tagged', () => {
    for (const m of ['no pri at all', '<999>1 - - - - - - x']) {
      const r = parseSyslog(m, ctx);
      expect(r.body).toBe(m);
      expect(r.attributes['log.parse_error']).toBe(true);
    }
  });
});

describe('TcpFramer', () => {
  test('a long message trickled a byte per segment, then an octet-counted one split the same way, arrive whole', () => {
    const messages: string[] = [];
    const refused: string[] = [];
    const framer = new TcpFramer(100_000, (m) => messages.push(m), (why) => refused.push(why));
    const long = `<13>${'é'.repeat(20_000)}`;
    const counted = `${Buffer.byteLength('<14>counted body')} <14>counted body`;
    for (const b of Buffer.from(`${long}\n${counted}<15>last`)) framer.push(Buffer.from([b]));
    framer.end();
    expect(refused).toEqual([]);
    expect(messages).toEqual([long, '<14>counted body', '<15>last']);
  });
});
