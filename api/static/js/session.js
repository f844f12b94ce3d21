const KEY = "regflow.token";
const listeners = new Set();

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
