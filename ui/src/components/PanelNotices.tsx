// The notice line on a panel: the Perses Prometheus plugin puts the first warning of an answer in
// the query result's `metadata.notices`, which the Perses 0.52 panels do not show. Two of Pharos'
// warnings matter to the reader of a chart: "data from <time> UTC: …" when the backend is down and
// the last good data is shown (docs/user/ui.md, "Stale data"), and "cluster <name>: error|timeout|
// skipped: …" when a fleet query was answered by only some clusters (docs/user/fleet.md). Every
// panel plugin's component is wrapped so that a line above its content says so, with the whole
// warning as tooltip; the chart keeps its data (it gets the rest of the height).
import type { ComponentType } from 'react';
import Box from '@mui/material/Box';
import { alpha } from '@mui/material/styles';
import Tooltip from '@mui/material/Tooltip';
import { Alert as AlertIcon } from 'mdi-material-ui';
import type { UnknownSpec } from '@perses-dev/core';
import type { PanelPlugin, PanelProps, PluginLoader, PluginModuleResource } from '@perses-dev/plugin-system';

/** Height of the marker line, px. */
const MARKER_HEIGHT = 22;

/** The warning Pharos adds to an answer from its last good copy (docs/user/query-layer.md). */
export const STALE_PREFIX = 'data from ';

interface Notice {
  type?: string;
  message?: string;
}

/** A fleet answer without some cluster: "cluster <name>: <error|timeout|skipped>: <why>". */
const PARTIAL = /^cluster (\S+): (error|timeout|skipped): /;

/** The warnings among the panel's query results that `keep` accepts, each once. */
function noticesOf(queryResults: PanelProps<UnknownSpec>['queryResults'] | undefined, keep: (message: string) => boolean): string[] {
  const found = new Set<string>();
  for (const result of queryResults ?? []) {
    const notices = (result.data as { metadata?: { notices?: Notice[] } } | undefined)?.metadata?.notices;
    for (const notice of notices ?? []) {
      if (typeof notice.message === 'string' && keep(notice.message)) found.add(notice.message);
    }
  }
  return [...found];
}

/** The stale warnings among the panel's query results, each once. */
export function staleNotices(queryResults: PanelProps<UnknownSpec>['queryResults'] | undefined): string[] {
  return noticesOf(queryResults, (message) => message.startsWith(STALE_PREFIX));
}

/** The fleet warnings of clusters that did not answer, each once. */
export function partialNotices(queryResults: PanelProps<UnknownSpec>['queryResults'] | undefined): string[] {
  return noticesOf(queryResults, (message) => PARTIAL.test(message));
}

/** "data from 2026-12-06 14:02:05 UTC" of "data from 2026-12-06 14:02:05 UTC: the backend is …". */
function shortText(message: string): string {
  const cut = message.indexOf(': ');
  return cut > 0 ? message.slice(0, cut) : message;
}

/** "cluster dead (error)" of "cluster dead: error: cannot reach …". */
function partialText(message: string): string {
  const match = PARTIAL.exec(message);
  return match ? `cluster ${match[1]} (${match[2]})` : message;
}

export function StaleMarker({ messages }: { messages: string[] }) {
  const oldest = [...messages].sort()[0] ?? '';
  return <NoticeMarker messages={messages} testId="stale-marker" label={`Stale data: ${messages.join('; ')}`} text={`Stale: ${shortText(oldest)}`} />;
}

export function PartialMarker({ messages }: { messages: string[] }) {
  const first = [...messages].sort()[0] ?? '';
  return (
    <NoticeMarker messages={messages} testId="partial-marker" label={`Partial answer: ${messages.join('; ')}`} text={`Partial: ${partialText(first)} did not answer`} />
  );
}

function NoticeMarker({ messages, testId, label, text }: { messages: string[]; testId: string; label: string; text: string }) {
  return (
    <Tooltip title={<Box sx={{ whiteSpace: 'pre-line' }}>{messages.join('\n')}</Box>}>
      <Box
        data-testid={testId}
        role="status"
        aria-label={label}
        sx={{
          height: MARKER_HEIGHT,
          display: 'flex',
          alignItems: 'center',
          gap: 0.5,
          px: 1,
          fontSize: 12,
          lineHeight: `${MARKER_HEIGHT}px`,
          color: (theme) => (theme.palette.mode === 'dark' ? theme.palette.warning.light : theme.palette.warning.dark),
          bgcolor: (theme) => alpha(theme.palette.warning.main, theme.palette.mode === 'dark' ? 0.16 : 0.1),
          overflow: 'hidden',
          whiteSpace: 'nowrap',
          cursor: 'default',
          '.MuiSvgIcon-root': { flexShrink: 0 },
        }}
      >
        <AlertIcon fontSize="inherit" />
        <Box component="span" sx={{ overflow: 'hidden', textOverflow: 'ellipsis' }}>
          {text}
          {messages.length > 1 ? ` (+${messages.length - 1})` : ''}
        </Box>
      </Box>
    </Tooltip>
  );
}

function withStaleMarker(Panel: ComponentType<PanelProps<UnknownSpec>>): ComponentType<PanelProps<UnknownSpec>> {
  function MarkedPanel(props: PanelProps<UnknownSpec>) {
    const stale = staleNotices(props.queryResults);
    // Stale data says more than a partial answer: one line, the stale one first.
    const partial = stale.length > 0 ? [] : partialNotices(props.queryResults);
    const marked = stale.length > 0 || partial.length > 0;
    const { contentDimensions } = props;
    const dimensions =
      marked && contentDimensions
        ? { width: contentDimensions.width, height: Math.max(0, contentDimensions.height - MARKER_HEIGHT) }
        : contentDimensions;
    // The same two children either way, so the chart is not mounted again when the marker comes or goes.
    return (
      <>
        {stale.length > 0 ? <StaleMarker messages={stale} /> : partial.length > 0 ? <PartialMarker messages={partial} /> : null}
        <Panel {...props} contentDimensions={dimensions} />
      </>
    );
  }
  MarkedPanel.displayName = `StaleMarked(${Panel.displayName ?? Panel.name ?? 'Panel'})`;
  return MarkedPanel;
}

/** `loader` with every Panel plugin's component wrapped by the notice line. */
export function withPanelNotices(loader: PluginLoader): PluginLoader {
  const wrapped = new Map<PluginModuleResource, Promise<unknown>>();
  return {
    getInstalledPlugins: () => loader.getInstalledPlugins(),
    importPluginModule: (resource) => {
      let module = wrapped.get(resource);
      if (!module) {
        module = Promise.resolve()
          .then(() => loader.importPluginModule(resource))
          .then((loaded) => {
          const panels = resource.spec.plugins.filter((p) => p.kind === 'Panel').map((p) => p.spec.name);
          if (panels.length === 0) return loaded;
          const copy: Record<string, unknown> = { ...(loaded as Record<string, unknown>) };
          for (const name of panels) {
            const plugin = copy[name] as PanelPlugin | undefined;
            if (plugin?.PanelComponent) copy[name] = { ...plugin, PanelComponent: withStaleMarker(plugin.PanelComponent) };
          }
          return copy;
          });
        // A failed import is tried again next time.
        module.catch(() => wrapped.delete(resource));
        wrapped.set(resource, module);
      }
      return module;
    },
  };
}
