// Peer for bench/bench_oauth.py: one node process, oidc-provider 9.x with the
// client_credentials grant and RFC 7662 introspection, one confidential client
// (client_secret_basic), opaque access tokens in the default in-memory adapter.
// Usage: PORT=9000 CLIENT_ID=... CLIENT_SECRET=... node server.mjs
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 9000);
const issuer = `http://127.0.0.1:${port}`;
const clientId = process.env.CLIENT_ID || 'bench';
const clientSecret = process.env.CLIENT_SECRET || 'bench-secret-bench-secret-bench-secret';

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'read',
  }],
  scopes: ['read'],
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    devInteractions: { enabled: false },
  },
});
provider.proxy = false;
// keep the console quiet under load
provider.on('server_error', (ctx, err) => { console.error(err); });

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
