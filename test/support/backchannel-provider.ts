/**
 * The development provider (oidc-provider) with Back-Channel Logout 1.0 and RP-Initiated Logout
 * on, its one client registered with the app's back-channel logout route and
 * `backchannel_logout_session_required`: logout tokens name the provider session (`sid`).
 * Its logout pages are the bare minimum a test clicks through.
 */
import { startDevProvider, type DevClient, type DevProvider } from '../../example-app/dev-provider.js';
import { CLIENT_ID, CLIENT_SECRET } from './testbed.js';

/**
 * Starts the provider for an app at `baseURL` whose back-channel logout route is `route`.
 *
 * @param baseURL - the app's origin, without a trailing slash
 * @param route - the app's `routes.backchannelLogout`, e.g. `/backchannel-logout`
 */
export function startBackchannelProvider(baseURL: string, route: string): Promise<DevProvider> {
  const client: DevClient & { backchannel_logout_uri: string; backchannel_logout_session_required: boolean } = {
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uris: [`${baseURL}/callback`],
    post_logout_redirect_uris: [baseURL],
    backchannel_logout_uri: `${baseURL}${route}`,
    backchannel_logout_session_required: true,
  };
  return startDevProvider({
    clients: [client],
    configuration: {
      features: {
        devInteractions: { enabled: true },
        backchannelLogout: { enabled: true },
        rpInitiatedLogout: {
          enabled: true,
          async logoutSource(ctx: { body: string }, logoutForm: string) {
            ctx.body = `<!doctype html><html><body>${logoutForm}<button form="op.logoutForm" name="logout" value="yes">Sign out</button></body></html>`;
          },
          async postLogoutSuccessSource(ctx: { body: string }) {
            ctx.body = '<!doctype html><html><body>Signed out</body></html>';
          },
        },
      },
    },
  });
}
