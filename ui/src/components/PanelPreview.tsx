// What a template (or an imported dashboard) holds, at a glance: a small grid of its panels'
// titles, each with an icon for its kind, and chips for the template's category and source.
import Box from '@mui/material/Box';
import Chip from '@mui/material/Chip';
import Tooltip from '@mui/material/Tooltip';
import Typography from '@mui/material/Typography';
// Named imports from the ESM index: the per-icon files are CommonJS.
import {
  ChartBar as ChartBarIcon,
  ChartLine as ChartLineIcon,
  ChartPie as ChartPieIcon,
  Gauge as GaugeIcon,
  Grid as GridIcon,
  Numeric as NumericIcon,
  Table as TableIcon,
  TextBoxOutline as TextBoxOutlineIcon,
  ViewDashboardOutline as ViewDashboardOutlineIcon,
} from 'mdi-material-ui';
import { categoryLabel } from '../api/templates';

const KIND_ICONS: Record<string, typeof ChartLineIcon> = {
  TimeSeriesChart: ChartLineIcon,
  StatChart: NumericIcon,
  BarChart: ChartBarIcon,
  GaugeChart: GaugeIcon,
  Table: TableIcon,
  Markdown: TextBoxOutlineIcon,
  PieChart: ChartPieIcon,
  HeatMapChart: GridIcon,
};

/** "TimeSeriesChart" → "time series chart". */
export function kindLabel(kind: string): string {
  return kind.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase() || 'panel';
}

export function PanelKindIcon({ kind }: { kind: string }) {
  const Icon = KIND_ICONS[kind] ?? ViewDashboardOutlineIcon;
  return <Icon fontSize="inherit" aria-label={kindLabel(kind)} />;
}

/** The panels' titles in a small grid; `max` of them, then "+ n more". */
export function PanelPreview({ panels, max = 8 }: { panels: { key: string; title: string; kind: string }[]; max?: number }) {
  const shown = panels.slice(0, max);
  return (
    <Box
      data-testid="panel-preview"
      sx={{ display: 'grid', gridTemplateColumns: 'repeat(2, minmax(0, 1fr))', gap: 0.5 }}
      aria-label={`${panels.length} panels`}
    >
      {shown.map((panel) => (
        <Tooltip key={panel.key} title={`${panel.title} (${kindLabel(panel.kind)})`} disableInteractive>
          <Box
            sx={{
              display: 'flex',
              alignItems: 'center',
              gap: 0.75,
              px: 0.75,
              py: 0.25,
              minWidth: 0,
              border: 1,
              borderColor: 'divider',
              borderRadius: 1,
              fontSize: 12,
              color: 'text.secondary',
              '& .MuiSvgIcon-root': { flexShrink: 0, color: 'primary.main' },
            }}
          >
            <PanelKindIcon kind={panel.kind} />
            <Typography variant="caption" noWrap sx={{ color: 'text.primary' }}>
              {panel.title}
            </Typography>
          </Box>
        </Tooltip>
      ))}
      {panels.length > max ? (
        <Typography variant="caption" color="text.secondary" sx={{ alignSelf: 'center', px: 0.75 }}>
          + {panels.length - max} more
        </Typography>
      ) : null}
    </Box>
  );
}

export function CategoryChip({ category }: { category: string }) {
  return <Chip size="small" color="primary" variant="outlined" label={categoryLabel(category)} data-testid="template-category" />;
}

/** "system", "global", or "project x"; nothing when the server does not say. */
export function SourceBadge({ source, project }: { source?: string; project?: string }) {
  if (!source) return null;
  const label = source === 'project' && project ? `project ${project}` : source;
  return <Chip size="small" label={label} sx={{ height: 20, fontSize: 11 }} data-testid="template-source" />;
}
