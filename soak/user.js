// @ts-check
/**
 * One simulated user of the soak: a browser with its own cookie jars that logs in through the
 * proxy, then browses the guarded route in a loop with small pauses (sometimes two requests at
 * once, as a page loading two resources), sometimes asks for a refresh (`POST /api/refresh`),
 * sometimes logs out (at the app, or at the provider only: a back-channel logout) and logs in
 * again.
 *
 * It keeps the books the printout needs: every answer of the app (through `onAnswer`), the
 * refreshes due (see {@link SoakUser#noteSend}), the explicit refreshes, sessions that ended when
 * the user did not log out (`surprises`), and the post-fault checks the orchestrator asks for.
 */
import { Browser, FlowError } from './browser.js';

/**
 * A small seeded generator (mulberry32): the same seed, the same sequence of user actions.
 *
 * @param {number} seed
 * @returns {() => number} a number in [0, 1)
 */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * @typedef {object} UserSettings
 * @property {number} pauseMinMs
 * @property {number} pauseMaxMs
 * @property {number} burstShare share of browsing steps that send two requests at once
 * @property {number} refreshShare share of steps that are `POST /api/refresh`
 * @property {number} logoutShare share of steps that log out (and log in again after a pause)
 * @property {number} refreshMargin the app's `refreshMargin`, in seconds
 */

/**
 * @typedef {object} Books what every user adds to
 * @property {(answer: import('./browser.js').Answer) => void} onAnswer
 * @property {{ due: number, dueInBurst: number, explicit: number }} refreshes `dueInBurst`: refreshes due on a step of two requests at once (the two instances may both refresh)
 * @property {{ at: number, user: string, reason: string }[]} surprises sessions that ended without a logout: a 401 on a signed-in session
 * @property {{ at: number, user: string, problem: string }[]} logoutProblems a logged-out session still accepted
 * @property {Record<string, number>} flows logins and logouts, done and failed, by kind
 * @property {Record<string, number>} flowErrors why logins and logouts failed
 */

/**
 * @typedef {object} CheckOutcome
 * @property {string} user
 * @property {'kept' | 'ended' | 'unavailable'} outcome `kept`: a 200; `ended`: a 401 (with `reason`); `unavailable`: no 200 or 401 before the deadline
 * @property {string} [reason] why it ended: the reason the app reported (`none: no session found`: its store record or cookie gone), or `logged out`
 * @property {number} at milliseconds since the epoch
 */

export class SoakUser {
  /** `'out'`, `'in'` (a session the user believes valid). */
  state = 'out';
  /** What the user is doing: `'browsing'` or a login/logout flow; checks snapshot browsing users only. */
  phase = 'idle';
  /** The access token the user's session last showed: its expiry (seconds) and whether its refresh was counted due. */
  /** @type {{ exp: number, counted: boolean } | undefined} */
  token;
  /** The user's sessions, numbered from 1 as they log in; 0: never logged in. */
  session = 0;
  /** Why each session that ended without a logout ended, by its number. */
  /** @type {Map<number, string>} */
  endReasons = new Map();
  /** No logout while the orchestrator holds the user (a fault is on, its check pending). */
  held = false;
  /** @type {{ deadline: number, resolve: (outcome: CheckOutcome) => void } | undefined} */
  check;

  /**
   * @param {object} options
   * @param {string} options.name the login name at the provider
   * @param {string} options.appBase
   * @param {string} options.issuer
   * @param {number} options.seed
   * @param {UserSettings} options.settings
   * @param {Books} options.books
   * @param {() => boolean} options.logoutsAllowed `false` while a fault is on
   */
  constructor({ name, appBase, issuer, seed, settings, books, logoutsAllowed }) {
    this.name = name;
    this.random = seededRandom(seed);
    this.settings = settings;
    this.books = books;
    this.logoutsAllowed = logoutsAllowed;
    this.browser = new Browser({ user: name, appBase, issuer, onAnswer: books.onAnswer });
  }

  /**
   * Asks for a post-fault check: the user's next step is one guarded request, retried on a 5xx
   * or no answer until `deadline`.
   *
   * @param {number} deadline milliseconds since the epoch
   * @param {number} session the session to check ({@link SoakUser#session} when the fault began): another one means it ended
   * @returns {Promise<CheckOutcome>}
   */
  requestCheck(deadline, session) {
    return new Promise((resolve) => {
      if (this.state !== 'in' || this.session !== session) {
        resolve({ user: this.name, outcome: 'ended', reason: this.endReasons.get(session) ?? 'logged out', at: Date.now() });
        return;
      }
      this.check = { deadline, resolve };
    });
  }

  /**
   * Runs until `stopped()` says so (and no check is pending).
   *
   * @param {() => boolean} stopped
   */
  async run(stopped) {
    while (!stopped() || this.check !== undefined) {
      if (this.state === 'out') {
        await this.login();
      } else if (this.check !== undefined) {
        await this.runCheck();
      } else {
        const roll = this.random();
        if (roll < this.settings.logoutShare && !this.held && this.logoutsAllowed()) {
          await this.logout();
        } else if (roll < this.settings.logoutShare + this.settings.refreshShare) {
          await this.refresh();
        } else {
          await this.browse(this.random() < this.settings.burstShare ? 2 : 1);
        }
      }
      await this.pause();
    }
    this.phase = 'idle';
  }

  async pause() {
    const { pauseMinMs, pauseMaxMs } = this.settings;
    await new Promise((resolve) => setTimeout(resolve, pauseMinMs + this.random() * (pauseMaxMs - pauseMinMs)));
  }

  /**
   * Counts a refresh due when a guarded request is sent at or after the moment the session's
   * access token falls due (`exp − refreshMargin`): the app must refresh it on this request.
   * Counted once per access token.
   *
   * @param {number} at milliseconds since the epoch
   * @returns {boolean} whether this request counted one
   */
  noteSend(at) {
    const token = this.token;
    if (token === undefined || token.counted || at / 1000 < token.exp - this.settings.refreshMargin) return false;
    token.counted = true;
    this.books.refreshes.due++;
    return true;
  }

  /**
   * Takes in an access token expiry a guarded answer showed. A new expiry without an explicit
   * refresh means the app refreshed: if the send-time rule did not count the old token due (the
   * app's clock crossed the line a few milliseconds after the request left), it is counted here.
   *
   * @param {unknown} exp
   */
  noteToken(exp) {
    if (typeof exp !== 'number') return;
    if (this.token === undefined) {
      this.token = { exp, counted: false };
    } else if (exp !== this.token.exp) {
      if (!this.token.counted) this.books.refreshes.due++;
      this.token = { exp, counted: false };
    }
  }

  /**
   * The session ended without a logout (a 401 on a signed-in session).
   *
   * @param {string | undefined} reason the app's (`x-soak-session-ended`); none: no session was found (its record gone)
   * @param {boolean} [twoAtOnce] it ended on a step of two requests at once
   */
  signedOut(reason, twoAtOnce = false) {
    if (this.state !== 'in') return;
    this.state = 'out';
    this.token = undefined;
    const why = `${reason ?? 'none: no session found'}${twoAtOnce ? ', on two requests at once' : ''}`;
    this.endReasons.set(this.session, why);
    this.books.surprises.push({ at: Date.now(), user: this.name, reason: why });
    const check = this.check;
    if (check !== undefined) {
      this.check = undefined;
      check.resolve({ user: this.name, outcome: 'ended', reason: why, at: Date.now() });
    }
  }

  /**
   * @param {string} kind
   * @param {unknown} err
   */
  flowFailed(kind, err) {
    this.books.flows[`${kind} failed`] = (this.books.flows[`${kind} failed`] ?? 0) + 1;
    const page = err instanceof FlowError ? err.page : undefined;
    const why = page === undefined ? String(err instanceof Error ? err.message : err)
      : page.status === 0 ? `no answer from ${new URL(page.url).origin}` : `${page.status} at ${new URL(page.url).pathname}`;
    const key = `${kind}: ${why}`;
    this.books.flowErrors[key] = (this.books.flowErrors[key] ?? 0) + 1;
  }

  /** @param {string} kind */
  flowDone(kind) {
    this.books.flows[kind] = (this.books.flows[kind] ?? 0) + 1;
  }

  async login() {
    this.phase = 'login';
    try {
      await this.browser.login(this.name);
      this.state = 'in';
      this.session++;
      this.token = undefined;
      this.flowDone('login');
    } catch (err) {
      this.flowFailed('login', err);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    this.phase = 'browsing';
  }

  /** @param {number} parallel */
  async browse(parallel) {
    this.phase = 'browsing';
    if (this.noteSend(Date.now()) && parallel > 1) this.books.refreshes.dueInBurst++;
    const answers = await Promise.all(Array.from({ length: parallel }, () => this.browser.api('GET', '/api/me')));
    for (const answer of answers) {
      if (answer.status === 200) this.noteToken(answer.json?.expiresAt);
    }
    const refused = answers.find((a) => a.status === 401);
    if (refused !== undefined) this.signedOut(refused.ended, parallel > 1);
  }

  async refresh() {
    this.phase = 'browsing';
    const dueNow = this.noteSend(Date.now());
    const answer = await this.browser.api('POST', '/api/refresh');
    if (answer.status === 200) {
      this.books.refreshes.explicit++;
      if (typeof answer.json?.expiresAt === 'number') this.token = { exp: answer.json.expiresAt, counted: false };
    } else if (answer.status === 401) {
      // Refused by the provider: a token request was made, the automatic one if it was due, else this one.
      if (answer.ended === 'refresh-refused' && !dueNow) this.books.refreshes.explicit++;
      this.signedOut(answer.ended);
    }
  }

  async logout() {
    const atProvider = this.random() < 0.5;
    const kind = atProvider ? 'logout at the provider (back-channel)' : 'logout at the app';
    this.phase = 'logout';
    try {
      if (atProvider) await this.browser.logoutAtProvider(this.name);
      else await this.browser.logoutAtApp(this.name);
    } catch (err) {
      this.flowFailed(kind, err);
    }
    // Whatever the flow's outcome, the session must now be refused (a back-channel mark may take
    // a moment: the provider posts it before it answers, so it should be there already).
    const deadline = Date.now() + 3000;
    let answer = await this.browser.api('GET', '/api/me');
    while (answer.status !== 401 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      answer = await this.browser.api('GET', '/api/me');
    }
    if (answer.status === 401) {
      this.flowDone(kind);
    } else {
      this.books.logoutProblems.push({ at: Date.now(), user: this.name, problem: `${kind}: the session still answered ${answer.status} 3 s later` });
    }
    this.state = 'out';
    this.token = undefined;
    this.phase = 'idle';
    await new Promise((resolve) => setTimeout(resolve, 1000 + this.random() * 2000));
  }

  async runCheck() {
    const check = /** @type {NonNullable<SoakUser['check']>} */ (this.check);
    this.noteSend(Date.now());
    const answer = await this.browser.api('GET', '/api/me');
    /** @type {CheckOutcome | undefined} */
    let outcome;
    if (answer.status === 200) {
      this.noteToken(answer.json?.expiresAt);
      outcome = { user: this.name, outcome: 'kept', at: Date.now() };
    } else if (answer.status === 401) {
      this.signedOut(answer.ended); // resolves the check
      return;
    } else if (Date.now() > check.deadline) {
      outcome = { user: this.name, outcome: 'unavailable', reason: `last answer ${answer.status}`, at: Date.now() };
    }
    if (outcome !== undefined) {
      this.check = undefined;
      check.resolve(outcome);
    }
  }
}
