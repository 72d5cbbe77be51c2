// One live connection to the fleet's event stream (`GET /api/v1/events`, Server-Sent Events with
// the session cookies, docs/user/fleet.md "Events") shared by every fleet page of the tab. It is
// opened when the first page subscribes and closed a little after the last one leaves (so moving
// from page to page keeps it). When it drops, it reconnects with a growing delay (1 s doubling up
// to 30 s, renewing the session first when logins are on); meanwhile the pages poll.
//
// A page hears of every event, and of "resync" moments (the stream came back, or the server
// said events were lost): it then reloads what it shows, since events may have been missed.
import { useEffect, useRef, useSyncExternalStore } from 'react';
import { isAuthEnabled, renewAccessToken } from '../api/session';

export type EventType =
  | 'CLUSTER_REGISTERED'
  | 'CLUSTER_UPDATED'
  | 'CLUSTER_DELETED'
  | 'CLUSTER_STATUS_CHANGED'
  | 'CLUSTER_CREDENTIALS_UPDATED'
  | 'CLUSTER_CAPABILITIES_CHANGED'
  | 'ALERT_FIRED'
  | 'ALERT_RESOLVED'
  | 'GPU_UPDATE';

export interface FleetEvent {
  type: EventType | string;
  cluster: string;
  at: string;
  data: Record<string, unknown>;
}

/** `connecting` before the first hello; `reconnecting` after a drop, until the next hello. */
export type LiveState = 'connecting' | 'live' | 'reconnecting';

type Listener = (event: FleetEvent | 'resync') => void;

// No `topics`: every topic the server has (clusters and alerts today; GPU ones when they come).
const EVENTS_URL = '/api/v1/events';
const FIRST_DELAY_MS = 1_000;
const MAX_DELAY_MS = 30_000;
const LINGER_MS = 5_000;

const listeners = new Set<Listener>();
const stateWatchers = new Set<() => void>();
let state: LiveState = 'connecting';
let source: EventSource | undefined;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
let lingerTimer: ReturnType<typeof setTimeout> | undefined;
let delay = FIRST_DELAY_MS;
let everLive = false;
let received = 0;

function setState(next: LiveState) {
  if (next === state) return;
  state = next;
  for (const watch of stateWatchers) watch();
}

function tell(event: FleetEvent | 'resync') {
  for (const listener of [...listeners]) {
    try {
      listener(event);
    } catch {
      // One page's failure must not stop the others from hearing the event.
    }
  }
}

function open() {
  retryTimer = undefined;
  const current = new EventSource(EVENTS_URL);
  source = current;
  current.addEventListener('hello', () => {
    delay = FIRST_DELAY_MS;
    setState('live');
    // Coming back after a drop: what happened meanwhile was not heard.
    if (everLive) tell('resync');
    everLive = true;
  });
  current.addEventListener('lagged', () => tell('resync'));
  current.onmessage = (message: MessageEvent<string>) => {
    let event: FleetEvent;
    try {
      event = JSON.parse(message.data) as FleetEvent;
    } catch {
      return;
    }
    received += 1;
    tell(event);
  };
  current.onerror = () => {
    if (source !== current) return;
    // The browser retries a dropped stream by itself but gives up on a refusal (401/403/5xx);
    // retry here in both cases, on our own schedule.
    current.close();
    source = undefined;
    setState(everLive ? 'reconnecting' : 'connecting');
    const wait = delay;
    delay = Math.min(delay * 2, MAX_DELAY_MS);
    retryTimer = setTimeout(() => {
      // An expired access token is the usual reason for a refusal: renew it first.
      const ready = isAuthEnabled() ? renewAccessToken().catch(() => false) : Promise.resolve(true);
      void ready.then(() => {
        if (listeners.size > 0 && source === undefined) open();
        else retryTimer = undefined;
      });
    }, wait);
  };
}

function close() {
  source?.close();
  source = undefined;
  if (retryTimer !== undefined) clearTimeout(retryTimer);
  retryTimer = undefined;
  delay = FIRST_DELAY_MS;
  everLive = false;
  setState('connecting');
}

function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  if (lingerTimer !== undefined) {
    clearTimeout(lingerTimer);
    lingerTimer = undefined;
  }
  if (source === undefined && retryTimer === undefined) open();
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && lingerTimer === undefined) {
      lingerTimer = setTimeout(() => {
        lingerTimer = undefined;
        if (listeners.size === 0) close();
      }, LINGER_MS);
    }
  };
}

/** The connection's state, for the Live indicator. */
export function useLiveState(): LiveState {
  return useSyncExternalStore(
    (watch) => {
      stateWatchers.add(watch);
      return () => stateWatchers.delete(watch);
    },
    () => state,
  );
}

/** How many events this tab received (shown to the curious and the browser tests). */
export const eventsReceived = () => received;

const POLL_MS = 15_000;

/**
 * Calls `onEvent` for every fleet event and `reload` when the page must reload everything: after a
 * reconnection or lost events, and every 15 s while the stream is down (or always, with
 * `pollMs` set: for data that has no events of its own, such as GPU gauges).
 */
export function useFleetEvents(onEvent: (event: FleetEvent) => void, reload: () => void, pollMs?: number): LiveState {
  const latest = useRef({ onEvent, reload });
  latest.current = { onEvent, reload };
  const live = useLiveState();
  useEffect(
    () =>
      subscribe((event) => {
        if (event === 'resync') latest.current.reload();
        else latest.current.onEvent(event);
      }),
    [],
  );
  const every = pollMs ?? (live === 'live' ? undefined : POLL_MS);
  useEffect(() => {
    if (every === undefined) return undefined;
    const timer = setInterval(() => latest.current.reload(), every);
    return () => clearInterval(timer);
  }, [every]);
  return live;
}

/** A function that runs `work` once, 300 ms after the last of a burst of calls. */
export function useDebounced(work: () => void, ms = 300): () => void {
  const latest = useRef(work);
  latest.current = work;
  const timer = useRef<ReturnType<typeof setTimeout>>();
  useEffect(() => () => clearTimeout(timer.current), []);
  return useRef(() => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => latest.current(), ms);
  }).current;
}
