// Turning an uploaded file into a dashboard to create: a Perses JSON/YAML dashboard as it is, or
// a Grafana dashboard JSON to convert on the server first; with messages that say what is wrong
// when the file is neither.
import { parse as parseYaml } from 'yaml';
import type { DashboardResource } from '@perses-dev/core';

/** The file could not be used; the message tells the user why. */
export class ImportProblem extends Error {}

function parseText(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === '') throw new ImportProblem('The file is empty.');
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return JSON.parse(trimmed);
    } catch (error) {
      throw new ImportProblem(`The file is not valid JSON: ${(error as Error).message}`);
    }
  }
  try {
    return parseYaml(trimmed);
  } catch (error) {
    throw new ImportProblem(`The file is neither JSON nor valid YAML: ${(error as Error).message}`);
  }
}

function looksLikeGrafana(value: Record<string, unknown>): boolean {
  return value.kind === undefined && ('schemaVersion' in value || ('panels' in value && Array.isArray(value.panels)));
}

/** What a file holds: a Perses dashboard to import as it is, or a Grafana one to convert first. */
export type ImportInput = { source: 'perses'; dashboard: DashboardResource } | { source: 'grafana'; grafana: unknown };

/**
 * A Grafana dashboard: its JSON model (`panels` or `rows` with a `schemaVersion`), the
 * `{"dashboard": …}` envelope of Grafana's API and exports, or Grafana 12's Kubernetes-style
 * resource. A JSON object without a Perses `kind` is also sent for conversion: the server says
 * what it is when it is no dashboard at all (an alert rule, say).
 */
function isGrafanaCandidate(value: unknown, json: boolean): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const object = value as Record<string, unknown>;
  if (typeof object.apiVersion === 'string' && object.apiVersion.startsWith('dashboard.grafana.app')) return true;
  if (object.kind !== undefined) return false;
  const envelope = typeof object.dashboard === 'object' && object.dashboard !== null;
  return envelope || looksLikeGrafana(object) || json;
}

/** Parses a Perses dashboard (JSON or YAML) or recognizes a Grafana dashboard JSON. */
export function parseImport(text: string): ImportInput {
  const value = parseText(text);
  if (isGrafanaCandidate(value, text.trim().startsWith('{'))) return { source: 'grafana', grafana: value };
  return { source: 'perses', dashboard: checkDashboard(value) };
}

/** Parses a Perses dashboard (JSON or YAML, or a list holding exactly one). */
export function parseDashboard(text: string): DashboardResource {
  return checkDashboard(parseText(text));
}

function checkDashboard(parsed: unknown): DashboardResource {
  let value = parsed;
  if (Array.isArray(value)) {
    if (value.length !== 1) {
      throw new ImportProblem(`The file holds ${value.length} documents; import one dashboard at a time.`);
    }
    value = value[0];
  }
  if (typeof value !== 'object' || value === null) {
    throw new ImportProblem('The file does not hold an object; a Perses dashboard starts with "kind: Dashboard".');
  }
  const resource = value as Record<string, unknown>;
  if (looksLikeGrafana(resource)) {
    throw new ImportProblem(
      'This looks like a Grafana dashboard in YAML; Grafana dashboards are imported from their JSON model.',
    );
  }
  if (resource.kind !== 'Dashboard') {
    const kind = typeof resource.kind === 'string' ? `a ${resource.kind}` : 'no "kind"';
    throw new ImportProblem(`The file holds ${kind}, not a Dashboard.`);
  }
  const metadata = resource.metadata as Record<string, unknown> | undefined;
  if (!metadata || typeof metadata.name !== 'string' || metadata.name === '') {
    throw new ImportProblem('The dashboard has no metadata.name.');
  }
  if (typeof resource.spec !== 'object' || resource.spec === null) {
    throw new ImportProblem('The dashboard has no spec.');
  }
  return value as DashboardResource;
}

/** The dashboard as it will be created: in `project`, under `name`, without server-owned fields. */
export function prepareForImport(dashboard: DashboardResource, project: string, name: string): DashboardResource {
  return { kind: 'Dashboard', metadata: { name, project }, spec: dashboard.spec };
}
