// Dashboard templates (docs/user/templates.md), Grafana conversion (docs/user/grafana-import.md),
// and dashboards leaving their place: export as a file, clone into a project.
import type { DashboardResource } from '@perses-dev/core';
import { download, request, type Download } from './http';

const seg = encodeURIComponent;

/** The categories the server knows, in the gallery's order, with what people call them. */
export const TEMPLATE_CATEGORIES = [
  { id: 'model-serving', label: 'Model serving' },
  { id: 'llm-serving', label: 'LLM serving' },
  { id: 'training', label: 'Training' },
  { id: 'notebook', label: 'Notebooks' },
  { id: 'pipeline', label: 'Pipelines' },
  { id: 'gpu', label: 'GPU' },
  { id: 'custom', label: 'Custom' },
] as const;

export const categoryLabel = (id: string) => TEMPLATE_CATEGORIES.find((c) => c.id === id)?.label ?? id;

/** One variable to fill in when instantiating a template. */
export interface TemplateVariable {
  name: string;
  description?: string;
  required: boolean;
  /** What the dashboard starts with when no value is given (`$__all`: every value). */
  default?: string | string[] | null;
}

/** A template as listed in the gallery. */
export interface TemplateSummary {
  id: string;
  /** `system` for the templates Pharos ships; later `global` or `project`. */
  source?: string;
  project?: string;
  version: number;
  category: string;
  title: string;
  description: string;
  workload_kinds: string[];
  variables: TemplateVariable[];
  panels: { key: string; title: string; kind: string }[];
}

/** A template with its dashboard (whose variables say where their values come from). */
export interface Template extends TemplateSummary {
  dashboard: DashboardResource;
}

export async function listTemplates(category?: string): Promise<TemplateSummary[]> {
  const query = category ? `?category=${seg(category)}` : '';
  return (await request<TemplateSummary[]>(`/api/v1/templates${query}`)).body;
}

/** A system or global template, or with `project` that project's template. */
export async function getTemplate(id: string, project?: string): Promise<Template> {
  const query = project ? `?project=${seg(project)}` : '';
  return (await request<Template>(`/api/v1/templates/${seg(id)}${query}`)).body;
}

/** Creates a dashboard of `project` from a template; rejects with the server's message (400, 403, 409). */
export async function createFromTemplate(
  project: string,
  templateId: string,
  name: string,
  variables: Record<string, string>,
  templateProject?: string,
): Promise<DashboardResource> {
  const path = `/api/v1/projects/${seg(project)}/dashboards/from-template`;
  const body = { template_id: templateId, name, variables, ...(templateProject ? { template_project: templateProject } : {}) };
  return (await request<DashboardResource>(path, { method: 'POST', body })).body;
}

/** Where a saved template lives: one project's templates, or every project's. */
export type TemplateScope = { project: string } | 'global';

/** Saves `dashboard`'s spec as a template (a `Template` of the project or a `GlobalTemplate`). */
export async function saveAsTemplate(
  scope: TemplateScope,
  name: string,
  display: { name: string; description: string },
  category: string,
  dashboard: DashboardResource,
): Promise<void> {
  const spec = { display, category, dashboard: dashboard.spec };
  if (scope === 'global') {
    await request('/api/v1/globaltemplates', { method: 'POST', body: { kind: 'GlobalTemplate', metadata: { name }, spec } });
  } else {
    const path = `/api/v1/projects/${seg(scope.project)}/templates`;
    await request(path, { method: 'POST', body: { kind: 'Template', metadata: { name, project: scope.project }, spec } });
  }
}

/** A model server, training job, notebook or pipeline found in a project (docs/user/workloads.md). */
export interface Workload {
  kind: string;
  name: string;
  namespace: string;
  status: string;
  /** The system template that fits, if any, and the values to give it. */
  template: string | null;
  variables: Record<string, string>;
  pods: number | null;
}

export interface Workloads {
  source: 'kubernetes' | 'metrics';
  workloads: Workload[];
  warnings: string[];
}

export async function listWorkloads(project: string): Promise<Workloads> {
  const answer = (await request<Workloads>(`/api/v1/projects/${seg(project)}/workloads`)).body;
  return { source: answer.source, workloads: answer.workloads ?? [], warnings: answer.warnings ?? [] };
}

/** What could not be carried over from a Grafana dashboard. */
export interface MigrationLoss {
  location: string;
  what: string;
  why: string;
}

export interface Migration {
  /** The converted dashboard, with an empty `metadata.project`: nothing is stored yet. */
  dashboard: DashboardResource;
  losses: MigrationLoss[];
}

/**
 * Converts a Grafana dashboard JSON model; rejects with the server's 400 message for anything else.
 * With `useDefaultDatasource` no query names a datasource: the project's default answers them all.
 */
export async function migrateGrafana(grafanaDashboard: unknown, useDefaultDatasource: boolean, signal?: AbortSignal): Promise<Migration> {
  const body = { grafanaDashboard, useDefaultDatasource };
  const answer = await request<Migration>('/api/migrate?report=true', { method: 'POST', body, signal });
  return { dashboard: answer.body.dashboard, losses: answer.body.losses ?? [] };
}

const dashboardPath = (project: string, name: string) => `/api/v1/projects/${seg(project)}/dashboards/${seg(name)}`;

/** The dashboard as a file to download (`format` json or yaml). */
export function exportDashboard(project: string, name: string, format: 'json' | 'yaml'): Promise<Download> {
  return download(`${dashboardPath(project, name)}/export?format=${format}`);
}

/** Copies a dashboard under `name`, into `target` (its own project when the same). */
export async function cloneDashboard(project: string, name: string, newName: string, target: string): Promise<DashboardResource> {
  const body = target === project ? { name: newName } : { name: newName, project: target };
  return (await request<DashboardResource>(`${dashboardPath(project, name)}/clone`, { method: 'POST', body })).body;
}
