const routes = [];
let current = null;
let outlet = null;

/** Register a view for a path pattern such as "/batches/:id". */
export function route(pattern, view) {
  const names = [];
  const source = pattern.replace(/:(\w+)/g, (_, name) => {
    names.push(name);
    return "([^/]+)";
  });
  routes.push({ regex: new RegExp(`^${source}/?$`), names, view });
}

function match(pathname) {
  for (const candidate of routes) {
    const found = candidate.regex.exec(pathname);
    if (found) {
      const params = Object.fromEntries(candidate.names.map((n, i) => [n, decodeURIComponent(found[i + 1])]));
      return { view: candidate.view, params };
    }
  }
  return null;
}

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  render();
}

/** Mount the view of the current URL, stopping the previous one first. */
export function render() {
  if (current) current();
  current = null;
  const found = match(location.pathname) || match("/");
  outlet.replaceChildren();
  const params = { ...found.params, query: new URLSearchParams(location.search) };
  current = found.view(outlet, params) || null;
  if (!outlet.contains(document.activeElement)) outlet.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

function onClick(event) {
  const link = event.target.closest("a[data-link]");
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(link.getAttribute("href"));
}

export function startRouter(element) {
  outlet = element;
  document.addEventListener("click", onClick);
  window.addEventListener("popstate", render);
  render();
}
