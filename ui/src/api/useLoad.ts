// Loads data for a page and keeps loading/error state; `reload` re-runs it after a change.
import { useCallback, useEffect, useState } from 'react';

/** State of one load: the data once it arrived, or the error that stopped it. */
export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` when `key` changes (and on `reload`); ignores answers for an outdated key. */
export function useLoad<T>(load: () => Promise<T>, key: string): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    let current = true;
    setState((previous) => ({ data: previous.data, loading: true }));
    load().then(
      (data) => current && setState({ data, loading: false }),
      (error: unknown) => current && setState({ error, loading: false }),
    );
    return () => {
      current = false;
    };
    // `load` is a fresh closure on every render; `key` says when its inputs changed.
  }, [key, generation]);

  // Marks the data as loading in the same render as the request for it: a render in between would
  // show the old data as current (the dashboard page would take its ETag for the new version).
  const reload = useCallback(() => {
    setState((previous) => ({ data: previous.data, loading: true }));
    setGeneration((g) => g + 1);
  }, []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}
