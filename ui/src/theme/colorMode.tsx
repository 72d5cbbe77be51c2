// Light/dark theme: follows the operating system until the user picks one with the toggle or in
// their preferences (applied at every login, on every device); the choice is remembered in
// localStorage. The Perses module reads the same mode for its own theme.
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import CssBaseline from '@mui/material/CssBaseline';
import useMediaQuery from '@mui/material/useMediaQuery';
import { ThemeProvider, createTheme } from '@mui/material/styles';
import type { PaletteMode } from '@mui/material';
import '@fontsource/lato/400.css';
import '@fontsource/lato/700.css';

const STORAGE_KEY = 'pharos.colorMode';

interface ColorModeState {
  /** The mode in effect. */
  mode: PaletteMode;
  /** True when the mode follows the operating system (no explicit choice stored). */
  followsSystem: boolean;
  /** Switches to the other mode and remembers the choice. */
  toggle: () => void;
  /** Forgets the explicit choice and follows the operating system again. */
  followSystem: () => void;
  /** Applies the user's saved preference (`system`, `light` or `dark`), also remembered here. */
  applyPreference: (theme: string) => void;
}

const ColorModeContext = createContext<ColorModeState | undefined>(undefined);

function storedMode(): PaletteMode | undefined {
  try {
    const value = window.localStorage.getItem(STORAGE_KEY);
    return value === 'light' || value === 'dark' ? value : undefined;
  } catch {
    // Storage can be disabled (privacy settings); the system setting still applies.
    return undefined;
  }
}

function storeMode(mode: PaletteMode | undefined): void {
  try {
    if (mode) window.localStorage.setItem(STORAGE_KEY, mode);
    else window.localStorage.removeItem(STORAGE_KEY);
  } catch {
    // See storedMode: not remembering is acceptable.
  }
}

/** Provides the color mode and the application shell's MUI theme. */
export function ColorModeProvider({ children }: { children: ReactNode }) {
  const systemPrefersDark = useMediaQuery('(prefers-color-scheme: dark)', { noSsr: true });
  const [chosen, setChosen] = useState<PaletteMode | undefined>(storedMode);
  const mode: PaletteMode = chosen ?? (systemPrefersDark ? 'dark' : 'light');

  const toggle = useCallback(() => {
    const next: PaletteMode = mode === 'dark' ? 'light' : 'dark';
    storeMode(next);
    setChosen(next);
  }, [mode]);
  const followSystem = useCallback(() => {
    storeMode(undefined);
    setChosen(undefined);
  }, []);

  const applyPreference = useCallback((preferred: string) => {
    const next = preferred === 'light' || preferred === 'dark' ? preferred : undefined;
    storeMode(next);
    setChosen(next);
  }, []);

  const theme = useMemo(
    () =>
      createTheme({
        palette: { mode, ...(mode === 'light' ? { background: { default: '#f6f7f9' } } : {}) },
        typography: { fontFamily: '"Lato", sans-serif' },
      }),
    [mode],
  );
  const state = useMemo(
    () => ({ mode, followsSystem: chosen === undefined, toggle, followSystem, applyPreference }),
    [mode, chosen, toggle, followSystem, applyPreference],
  );

  return (
    <ColorModeContext.Provider value={state}>
      <ThemeProvider theme={theme}>
        <CssBaseline enableColorScheme />
        {children}
      </ThemeProvider>
    </ColorModeContext.Provider>
  );
}

/** The current color mode and its controls. */
export function useColorMode(): ColorModeState {
  const state = useContext(ColorModeContext);
  if (!state) throw new Error('useColorMode must be used inside ColorModeProvider');
  return state;
}
