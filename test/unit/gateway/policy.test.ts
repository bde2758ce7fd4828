import test from 'ava';
import { parseUpstream } from '../../../src/gateway/definition.ts';
import { allScopes, toolScopes, toolVisible } from '../../../src/gateway/policy.ts';

const settings = (extra: Record<string, unknown>) => parseUpstream('x', { command: 'node', ...extra }, 'file').settings;

test('deny hides a tool; allow shows only its tools; deny wins over allow', (t) => {
  const denying = settings({ deny: ['drop'] });
  t.false(toolVisible(denying, 'drop'));
  t.true(toolVisible(denying, 'read'));
  const allowing = settings({ allow: ['read', 'drop'], deny: ['drop'] });
  t.true(toolVisible(allowing, 'read'));
  t.false(toolVisible(allowing, 'drop'));
  t.false(toolVisible(allowing, 'other'));
});

test('a tool needs the upstream\'s scopes plus its own; a hidden tool has none (it is "not found")', (t) => {
  const policy = settings({ scopes: ['mcp:tools'], toolScopes: { write: ['mcp:write'] }, deny: ['secret'] });
  t.deepEqual(toolScopes(policy, 'read'), ['mcp:tools']);
  t.deepEqual(toolScopes(policy, 'write'), ['mcp:tools', 'mcp:write']);
  t.is(toolScopes(policy, 'secret'), undefined);
  t.deepEqual(allScopes(policy), ['mcp:tools', 'mcp:write'], 'the challenge asks for everything once');
});
