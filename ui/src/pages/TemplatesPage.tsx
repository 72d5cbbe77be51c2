// The template gallery (docs/user/templates.md, "In the UI"): the workloads found in a project,
// each with the template that fits it (WorkloadPicker), then a card per dashboard template with
// its category, the workloads it fits and its panels; a category filter kept in the address
// (`?category=`). A card opens the form that makes a dashboard of it (TemplatePage).
import { Link as RouterLink, useSearchParams } from 'react-router-dom';
import Box from '@mui/material/Box';
import Card from '@mui/material/Card';
import CardActionArea from '@mui/material/CardActionArea';
import CardContent from '@mui/material/CardContent';
import Chip from '@mui/material/Chip';
import Link from '@mui/material/Link';
import Stack from '@mui/material/Stack';
import Typography from '@mui/material/Typography';
import { TEMPLATE_CATEGORIES, categoryLabel, listTemplates, type TemplateSummary } from '../api/templates';
import { useLoad } from '../api/useLoad';
import { ErrorNotice } from '../components/ErrorNotice';
import { Page, PageLoading } from '../components/Layout';
import { CategoryChip, PanelPreview, SourceBadge } from '../components/PanelPreview';
import { WorkloadPicker } from '../components/WorkloadPicker';
import { templateUrl } from '../components/templateUrl';


function TemplateCard({ template, project }: { template: TemplateSummary; project: string | null }) {
  const required = template.variables.filter((v) => v.required).map((v) => v.name);
  return (
    <Card variant="outlined" data-testid="template-card" data-template-id={template.id} sx={{ display: 'flex' }}>
      <CardActionArea
        component={RouterLink}
        to={templateUrl(template.id, project, template.source === 'project' ? template.project : null)}
        aria-label={`Create a dashboard from ${template.title}`}
        sx={{ display: 'flex', flexDirection: 'column', alignItems: 'stretch', justifyContent: 'flex-start' }}
      >
        <CardContent sx={{ display: 'flex', flexDirection: 'column', gap: 1, flex: 1 }}>
          <Stack direction="row" spacing={1} alignItems="center" sx={{ minWidth: 0 }}>
            <Typography variant="subtitle1" component="h2" sx={{ fontWeight: 700, flexGrow: 1 }} noWrap>
              {template.title}
            </Typography>
            <SourceBadge source={template.source} project={template.project} />
          </Stack>
          <Stack direction="row" spacing={1} alignItems="center" flexWrap="wrap" useFlexGap>
            <CategoryChip category={template.category} />
            <Typography variant="caption" color="text.secondary" data-testid="template-workloads">
              {template.workload_kinds.length > 0 ? `for ${template.workload_kinds.join(', ')}` : 'fleet-wide'}
            </Typography>
          </Stack>
          <Typography
            variant="body2"
            color="text.secondary"
            sx={{ display: '-webkit-box', WebkitLineClamp: 3, WebkitBoxOrient: 'vertical', overflow: 'hidden' }}
            title={template.description}
          >
            {template.description}
          </Typography>
          <PanelPreview panels={template.panels} />
          <Typography variant="caption" color="text.secondary" sx={{ mt: 'auto' }}>
            {template.panels.length} panels ·{' '}
            {required.length > 0 ? `you choose ${required.join(', ')}` : 'no variable to choose'}
          </Typography>
        </CardContent>
      </CardActionArea>
    </Card>
  );
}

export default function TemplatesPage() {
  const [params, setParams] = useSearchParams();
  const category = params.get('category') ?? '';
  const project = params.get('project');
  const templates = useLoad(() => listTemplates(category || undefined), category);

  const choose = (next: string) => {
    const updated = new URLSearchParams(params);
    if (next) updated.set('category', next);
    else updated.delete('category');
    setParams(updated, { replace: true });
  };

  const categories = [{ id: '', label: 'All' }, ...TEMPLATE_CATEGORIES];
  return (
    <Page title="Dashboard templates">
      <Typography variant="body2" color="text.secondary" sx={{ mb: 2 }}>
        Ready-made dashboards for AI workloads. Pick one, choose the project and the workload it watches, and it becomes
        an ordinary dashboard you can edit.
      </Typography>
      <Stack direction="row" spacing={1} useFlexGap flexWrap="wrap" sx={{ mb: 2 }} role="group" aria-label="Category" data-testid="template-categories">
        {categories.map((c) => (
          <Chip
            key={c.id || 'all'}
            label={c.label}
            clickable
            color={c.id === category ? 'primary' : 'default'}
            variant={c.id === category ? 'filled' : 'outlined'}
            aria-pressed={c.id === category}
            onClick={() => choose(c.id)}
            data-testid={`template-category-${c.id || 'all'}`}
          />
        ))}
      </Stack>
      <WorkloadPicker project={project} />
      <ErrorNotice error={templates.error} onRetry={templates.reload} />
      {templates.loading && !templates.data ? <PageLoading /> : null}
      {templates.data && templates.data.length === 0 ? (
        <Typography color="text.secondary">
          No templates in “{categoryLabel(category)}”.{' '}
          <Link component="button" variant="body1" onClick={() => choose('')}>
            Show all templates
          </Link>
        </Typography>
      ) : null}
      {templates.data && templates.data.length > 0 ? (
        <Box
          data-testid="template-gallery"
          aria-busy={templates.loading}
          sx={{ display: 'grid', gap: 2, gridTemplateColumns: 'repeat(auto-fill, minmax(340px, 1fr))' }}
        >
          {templates.data.map((template) => (
            <TemplateCard key={`${template.source ?? ''}/${template.project ?? ''}/${template.id}`} template={template} project={project} />
          ))}
        </Box>
      ) : null}
    </Page>
  );
}
