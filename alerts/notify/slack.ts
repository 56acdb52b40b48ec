/** Slack-compatible incoming webhooks (Slack, Mattermost, Rocket.Chat accept this JSON). */
import type { Alert } from '../model.js';
import { postJson } from './http.js';
import type { Notifier, NotifyContext, NotifyResult } from './stages.js';
import { defaultText, defaultTitle, render } from './template.js';
import { buildMessage } from './webhook.js';

export interface SlackAttachment {
  title: string;
  title_link?: string;
  text: string;
  fallback: string;
  color: 'danger' | 'good';
  mrkdwn_in: string[];
}

export interface SlackMessage {
  channel?: string;
  username?: string;
  text?: string;
  attachments: SlackAttachment[];
}

export function slackMessage(alerts: readonly Alert[], ctx: NotifyContext, cfg: { channel?: string | undefined; username?: string | undefined; title?: string | undefined; text?: string | undefined; externalURL: string }): SlackMessage {
  const m = buildMessage(alerts, ctx, cfg.externalURL);
  const title = cfg.title !== undefined ? render(cfg.title, m) : defaultTitle(m);
  const text = cfg.text !== undefined ? render(cfg.text, m) : defaultText(m);
  return {
    ...(cfg.channel ? { channel: cfg.channel } : {}),
    ...(cfg.username ? { username: cfg.username } : {}),
    attachments: [
      { title, title_link: cfg.externalURL, text, fallback: title, color: m.status === 'firing' ? 'danger' : 'good', mrkdwn_in: ['text', 'pretext'] },
    ],
  };
}

export class SlackNotifier implements Notifier {
  constructor(private readonly cfg: { apiUrl: string; channel?: string | undefined; username?: string | undefined; title?: string | undefined; text?: string | undefined; timeoutMs: number; externalURL: string }) {}

  notify(alerts: readonly Alert[], ctx: NotifyContext): Promise<NotifyResult> {
    // The secret of a Slack webhook is its path, so only the origin may appear in an error.
    const shownUrl = `${new URL(this.cfg.apiUrl).origin}/…`;
    return postJson(this.cfg.apiUrl, slackMessage(alerts, ctx, this.cfg), { timeoutMs: this.cfg.timeoutMs, signal: ctx.signal, shownUrl, nowMs: ctx.nowMs });
  }
}
