/** An Alertmanager-webhook receiver on loopback that records every notification of the chaos run. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedPage {
  status: string;
  alertnames: string[];
  receivedAt: number;
}

export class PageReceiver {
  readonly pages: ReceivedPage[] = [];
  private constructor(private readonly server: Server) {}

  static async start(): Promise<PageReceiver> {
    const server = createServer();
    const receiver = new PageReceiver(server);
    server.on('request', (req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => {
        if (body.length < 1_000_000) body += d;
      });
      req.on('end', () => {
        try {
          const json = JSON.parse(body) as { status?: string; alerts?: Array<{ labels?: Record<string, string> }> };
          receiver.pages.push({ status: String(json.status), alertnames: (json.alerts ?? []).map((a) => a.labels?.alertname ?? ''), receivedAt: Date.now() });
          res.end('ok');
        } catch {
          res.statusCode = 400;
          res.end('not JSON');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  count(alertname: string, status: 'firing' | 'resolved'): number {
    return this.pages.filter((p) => p.status === status && p.alertnames.includes(alertname)).length;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
