import { join } from 'node:path';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { decodeLogs } from '../../core/codec/codec.js';
import { OTLP_DESCRIPTOR } from './otlp-descriptor.js';
import { exportResponse, otlpJsonToProtobuf, statusBody, wireFormatOf } from './otlp-messages.js';

describe('OTLP/JSON at the edge', () => {
  it('uses the same messages as the static code: the descriptor matches the .proto files', () => {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => join(import.meta.dirname, '../../core/codec/otlp/proto', target);
    root.loadSync(['opentelemetry/proto/collector/logs/v1/logs_service.proto', 'opentelemetry/proto/collector/metrics/v1/metrics_service.proto']);
    expect(root.toJSON()).toEqual(OTLP_DESCRIPTOR);
  });

  it('reads enum numbers, int64 numbers, kvlists and arrays, and ignores unknown fields', () => {
    const json = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 's' } }] },
          scopeLogs: [
            {
              scope: { name: 'lib', version: '1' },
              logRecords: [
                {
                  observedTimeUnixNano: 1700000000000000000,
                  severityNumber: 17,
                  body: { kvlistValue: { values: [{ key: 'a', value: { arrayValue: { values: [{ intValue: 1 }, { boolValue: true }] } } }] } },
                  somethingNew: 'ignored',
                },
              ],
            },
          ],
        },
      ],
    };
    const [r] = decodeLogs(otlpJsonToProtobuf('logs', Buffer.from(JSON.stringify(json))));
    expect(r).toMatchObject({ severityNumber: 17, body: '{"a":[1,true]}', scopeName: 'lib', observedTimeUnixNano: 1700000000000000000n, resource: { 'service.name': 's' } });
  });

  it('says what is wrong with a body that is not OTLP/JSON', () => {
    expect(() => otlpJsonToProtobuf('logs', Buffer.from('{"resourceLogs": 5'))).toThrow(/body is not JSON/);
    expect(() => otlpJsonToProtobuf('logs', Buffer.from('[1]'))).toThrow(/not an OTLP\/JSON object/);
    expect(() => otlpJsonToProtobuf('logs', Buffer.from('{"resourceLogs": [{"scopeLogs": 3}]}'))).toThrow(/not a valid OTLP\/JSON ExportLogsServiceRequest/);
  });

  it('writes partial success and Status as the spec names them', () => {
    expect(JSON.parse(exportResponse('metrics', 'json', 3, 'why').toString())).toEqual({ partialSuccess: { rejectedDataPoints: '3', errorMessage: 'why' } });
    expect(JSON.parse(exportResponse('logs', 'json', 0, '').toString())).toEqual({});
    expect(exportResponse('logs', 'protobuf', 0, '').length).toBe(0);
    expect(JSON.parse(statusBody('json', 503, 'later').toString())).toEqual({ code: 14, message: 'later' });
    expect(wireFormatOf('application/json; charset=utf-8')).toBe('json');
    expect(wireFormatOf('application/x-protobuf')).toBe('protobuf');
    expect(wireFormatOf('text/plain')).toBeUndefined();
  });
});
