// Small words for the assistant page: a session's title and how long ago something happened.
import type { Session } from './api';

export const sessionTitle = (session: Pick<Session, 'title'>): string => session.title?.trim() || 'New chat';

/** "just now", "5 min ago", "3 h ago", else the date. */
export function relativeTime(iso: string, now: number = Date.now()): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const seconds = Math.round((now - at) / 1000);
  if (seconds < 60) return 'just now';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return new Date(at).toLocaleDateString();
}
