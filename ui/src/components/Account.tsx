// What the logged-in user may do (their permissions) and how they like the UI (their preferences,
// kept by the server so every device gets them). Both are read once per login; the theme
// preference is applied as soon as it arrives (light or dark; "system" keeps the browser's own). With logins off everything is allowed and the
// preferences are the defaults (there is nobody to keep them for).
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import {
  DEFAULT_PREFERENCES,
  allows,
  getPermissions,
  getPreferences,
  type Permissions,
  type Preferences,
} from '../api/account';
import { useColorMode } from '../theme/colorMode';
import { useSession } from './Session';

interface AccountState {
  /** Undefined until loaded. */
  permissions: Permissions | undefined;
  preferences: Preferences;
  /** True once the stored preferences arrived (always with logins off). */
  preferencesLoaded: boolean;
  /** After a successful save: the new preferences, applied at once. */
  setPreferences: (preferences: Preferences) => void;
  /** Whether the user may do `action` on `scope` (in `project`, or globally). */
  can: (action: string, scope: string, project?: string) => boolean;
}

const EVERYTHING: Permissions = { '*': [{ actions: ['*'], scopes: ['*'] }] };

const AccountContext = createContext<AccountState | undefined>(undefined);

export function useAccount(): AccountState {
  const account = useContext(AccountContext);
  if (!account) throw new Error('useAccount outside AccountProvider');
  return account;
}

export function AccountProvider({ children }: { children: ReactNode }) {
  const { enableAuth, user } = useSession();
  const { applyPreference } = useColorMode();
  const name = user?.metadata.name;
  const [permissions, setPermissions] = useState<Permissions | undefined>(enableAuth ? undefined : EVERYTHING);
  const [preferences, setPreferencesState] = useState<Preferences>(DEFAULT_PREFERENCES);
  const [preferencesLoaded, setPreferencesLoaded] = useState(!enableAuth);

  useEffect(() => {
    if (!enableAuth || name === undefined) return;
    let current = true;
    getPermissions(name).then(
      (loaded) => current && setPermissions(loaded),
      // Without them nothing extra is offered; the server decides anyway.
      () => current && setPermissions({}),
    );
    getPreferences().then(
      (loaded) => {
        if (!current) return;
        setPreferencesState(loaded);
        setPreferencesLoaded(true);
        // "system" leaves this browser's own toggle choice alone (it follows the system until
        // someone toggles); an explicit light or dark wins on every device at every load.
        if (loaded.theme !== 'system') applyPreference(loaded.theme);
      },
      () => current && setPreferencesLoaded(true),
    );
    return () => {
      current = false;
    };
  }, [enableAuth, name, applyPreference]);

  const setPreferences = useCallback(
    (saved: Preferences) => {
      setPreferencesState(saved);
      applyPreference(saved.theme);
    },
    [applyPreference],
  );
  const can = useCallback(
    (action: string, scope: string, project?: string) => allows(permissions, action, scope, project),
    [permissions],
  );
  const value = useMemo(
    () => ({ permissions, preferences, preferencesLoaded, setPreferences, can }),
    [permissions, preferences, preferencesLoaded, setPreferences, can],
  );
  return <AccountContext.Provider value={value}>{children}</AccountContext.Provider>;
}

/** The preferred time zone as the Perses packages and `Intl` take it (undefined: the browser's). */
export function timeZoneOf(preferences: Preferences): string | undefined {
  return preferences.timezone && preferences.timezone !== 'browser' ? preferences.timezone : undefined;
}

/** A timestamp written for people, in the preferred time zone. */
export function formatTime(value: string | null | undefined, preferences: Preferences): string {
  if (!value) return '—';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  try {
    return date.toLocaleString(undefined, { timeZone: timeZoneOf(preferences), timeZoneName: 'short' });
  } catch {
    // An unknown zone name in an old browser.
    return date.toLocaleString();
  }
}
