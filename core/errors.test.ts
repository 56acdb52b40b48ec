import { describe, expect, test } from 'vitest';
import { redactUrl } from './errors.js';

describe('redactUrl', () => {
  test('hides user info and key-like query parameters', () => {
    expect(redactUrl('https://user:pw@example.com/hook?api_key=abc&x=1')).toBe('https://***:***@example.com/hook?api_key=***&x=1');
  });

  test('hides keys carried in the path, as Slack and Discord webhooks do', () => {
    const slack = 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX';
    expect(redactUrl(slack)).toBe('https://hooks.slack.com/services/T00000000/B00000000/***');
    const discord = 'https://discord.com/api/webhooks/123456789012345678/AbCdEf0123456789AbCdEf0123456789';
    expect(redactUrl(discord)).toBe('https://discord.com/api/webhooks/123456789012345678/***');
    expect(redactUrl('https://hooks.example.com/t/ab12cd34ef56gh78')).toBe('https://hooks.example.com/t/***');
  });

  test('keeps ordinary routes readable', () => {
    expect(redactUrl('http://127.0.0.1:9093/api/v2/alerts')).toBe('http://127.0.0.1:9093/api/v2/alerts');
    expect(redactUrl('https://events.pagerduty.com/v2/enqueue')).toBe('https://events.pagerduty.com/v2/enqueue');
  });
});
