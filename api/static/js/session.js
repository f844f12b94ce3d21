const KEY = "regflow.token";
const listeners = new Set();

/** The signed-in key, kept in localStorage: every tab shares it until one signs out. */
export const session = {
  get token() {
    return localStorage.getItem(KEY);
  },
  signIn(token) {
    localStorage.setItem(KEY, token.trim());
    listeners.forEach((fn) => fn(true));
  },
  signOut() {
    localStorage.removeItem(KEY);
    listeners.forEach((fn) => fn(false));
  },
  onChange(fn) {
    listeners.add(fn);
  },
};

addEventListener("storage", (event) => {
  if (event.key === KEY) listeners.forEach((fn) => fn(Boolean(event.newValue)));
});
