// graphql-http's GraphQL-over-HTTP audit suite (maintained with the specification, not by
// us) against a running Partnerbook; prints one JSON line per audit.
// Usage: node graphql_http_audit.mjs URL KEY (run from a folder where graphql-http is installed)
import { auditServer } from 'graphql-http';

const [url, key] = process.argv.slice(2);
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers || {});
  headers.set('authorization', `Bearer ${key}`);
  return fetch(input, { ...init, headers });
};
for (const result of await auditServer({ url, fetchFn })) {
  let body = '';
  if (result.status !== 'ok') {
    try { body = (await result.response.clone().text()).slice(0, 300); } catch {}
  }
  const { id, name, status, reason } = result;
  console.log(JSON.stringify({ id, name, status, reason: reason || '', body }));
}
