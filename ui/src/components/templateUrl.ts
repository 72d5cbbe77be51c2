// The address of the form that makes a dashboard from a template (TemplatePage).

/**
 * The form's address: the project to create in, the project the template belongs to (`from`, for
 * project templates) and values to start the variables with (`var-<name>`).
 */
export function templateUrl(id: string, project?: string | null, from?: string | null, values: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  if (project) params.set('project', project);
  if (from) params.set('from', from);
  for (const [name, value] of Object.entries(values)) params.set(`var-${name}`, value);
  const query = params.toString();
  return `/templates/${encodeURIComponent(id)}${query ? `?${query}` : ''}`;
}
