/** Call `task` now and every `intervalMs` after it settles, until the returned stop() is called. */
export function poll(task, intervalMs) {
  let timer = null;
  let stopped = false;
  async function tick() {
    if (stopped) return;
    if (!document.hidden) {
      try {
        await task();
      } catch (error) {
        if (!stopped) console.warn("refresh failed:", error.message || error);
      }
    }
    if (!stopped) timer = setTimeout(tick, intervalMs);
  }
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
