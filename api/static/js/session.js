const KEY = "regflow.token";
const listeners = new Set();

/** The signed-in key, kept in this tab's session storage: forgotten when the tab closes (an
 * operator who walks away from a shared machine leaves no key behind); other tabs sign in on
 * their own. */
export const session = {
  get token() {
    return sessionStorage.getItem(KEY);
  },
  signIn(token) {
    sessionStorage.setItem(KEY, token.trim());
    listeners.forEach((fn) => fn(true));
  },
  signOut() {
    sessionStorage.removeItem(KEY);
    listeners.forEach((fn) => fn(false));
  },
  onChange(fn) {
    listeners.add(fn);
  },
};
