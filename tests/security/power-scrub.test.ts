// A BMC's answer is attacker-influenced text that often quotes the request back, in whatever
// encoding its web stack uses. The password must not reach an error, a log line or an event in
// any of them: raw, JSON-escaped (with "\/", with \uXXXX for non-ASCII, escaped twice),
// percent-encoded, HTML-escaped or base64 — checked through PowerError, the one way driver
// errors leave the power layer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PowerError, secretForms } from '../../daemon/power/errors.js';

const PASSWORD = 'p"a\\s/s wörd&<1>\'';

test('every spelling of the password in a BMC\'s answer is redacted', () => {
  const b64 = Buffer.from(PASSWORD).toString('base64');
  const json = JSON.stringify(PASSWORD).slice(1, -1);
  const answers = [
    `{"error":{"message":"bad password ${json}"}}`,
    `{"error":"${JSON.stringify(PASSWORD).slice(1, -1).replace(/\//g, '\\/')}"}`,
    `{"error":"${json.replace(/ö/g, '\\u00f6')}"}`,
    `{"error":"${json.replace(/ö/g, '\\u00F6')}"}`,
    JSON.stringify({ wrapped: JSON.stringify({ password: PASSWORD }) }),
    `GET /login?pw=${encodeURIComponent(PASSWORD)}`,
    `form: pw=${encodeURIComponent(PASSWORD).replace(/%20/g, '+')}`,
    `<p>password ${PASSWORD.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')}</p>`,
    `Authorization: Basic ${b64}`,
    `plain ${PASSWORD}`,
  ];
  for (const said of answers) {
    const e = new PowerError('BMC_ERROR', 'node-01', 'status', said, [PASSWORD]);
    const out = JSON.stringify(e.toJSON()) + e.message;
    for (const form of secretForms(PASSWORD)) assert.ok(!out.includes(form), `${said} → ${out} still holds ${form}`);
    assert.ok(out.includes('[redacted]'), out);
    assert.ok(!/s\/?s w/.test(e.bmcMessage), e.bmcMessage);
  }
});

test('the spellings include the forms web stacks write, and nothing empty', () => {
  const forms = secretForms(PASSWORD);
  assert.ok(forms.includes(PASSWORD));
  assert.ok(forms.includes(Buffer.from(PASSWORD).toString('base64')));
  assert.ok(forms.every((f) => f.length > 0));
  assert.deepEqual(secretForms('plain'), ['cGxhaW4=', 'plain']);
});
