import { describe, expect, it } from 'vitest';
import { describeScope, isUnrestricted, logRowInScope, logScopeSql, scopeMatchers } from './scope.js';

const row = (serviceName: string, env?: string) => ({ serviceName, resourceAttributes: (env === undefined ? {} : { 'deployment.environment': env }) as Record<string, string> });

describe('label scope', () => {
  it('no scope, or an empty one, restricts nothing', () => {
    expect(isUnrestricted(undefined)).toBe(true);
    expect(isUnrestricted({})).toBe(true);
    expect(logRowInScope(undefined, row('x'))).toBe(true);
    expect(scopeMatchers({})).toEqual([]);
    expect(logScopeSql(undefined)).toEqual({ sql: '1', params: {} });
  });

  it('a log row must match every restricted dimension; a row without an environment is outside an environment scope', () => {
    const scope = { service: ['a', 'b'], environment: ['prod'] };
    expect(logRowInScope(scope, row('a', 'prod'))).toBe(true);
    expect(logRowInScope(scope, row('c', 'prod'))).toBe(false);
    expect(logRowInScope(scope, row('a', 'dev'))).toBe(false);
    expect(logRowInScope(scope, row('a'))).toBe(false);
    expect(logRowInScope({ service: ['a'] }, row('a'))).toBe(true);
  });

  it('SQL carries values as parameters only', () => {
    const { sql, params } = logScopeSql({ service: ["a'); DROP TABLE x; --"], environment: ['prod'] });
    expect(sql).toBe("ServiceName IN {scope_service:Array(String)} AND ResourceAttributes['deployment.environment'] IN {scope_environment:Array(String)}");
    expect(sql).not.toContain('DROP');
    expect(params).toEqual({ scope_service: ["a'); DROP TABLE x; --"], scope_environment: ['prod'] });
  });

  it('PromQL matchers: equality for one value, an escaped alternation for several', () => {
    expect(scopeMatchers({ service: ['api'] })).toEqual([{ name: 'job', type: '=', value: 'api' }]);
    expect(scopeMatchers({ service: ['a.b', 'c|d'], environment: ['prod'] })).toEqual([
      { name: 'job', type: '=~', value: 'a\\.b|c\\|d' },
      { name: 'deployment_environment', type: '=', value: 'prod' },
    ]);
    const re = new RegExp(`^(?:${scopeMatchers({ service: ['a.b', 'c|d'] })[0]!.value})$`);
    expect(['a.b', 'c|d'].every((s) => re.test(s))).toBe(true);
    expect(['axb', 'c', 'd'].some((s) => re.test(s))).toBe(false);
  });

  it('describes itself for error messages', () => {
    expect(describeScope({ service: ['a', 'b'], environment: ['prod'] })).toBe('services a, b; environments prod');
    expect(describeScope(undefined)).toBe('everything');
  });
});
