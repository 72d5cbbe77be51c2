// What the viewer of a dashboard sees right now, read from the Perses providers: the time range
// and the variables' values (an "All" already expanded to its values, as the queries get it).
// The share dialog keeps them in the link.
import { useCallback, useRef, type ReactNode } from 'react';
import { isRelativeTimeRange, type DashboardResource } from '@perses-dev/core';
import { useTimeRange, useVariableValues } from '@perses-dev/plugin-system';
import type { SharedTimeRange, SharedVariables } from '../api/account';

export interface CurrentView {
  variables: SharedVariables;
  timeRange: SharedTimeRange;
}

/** Reads the current view on demand; rendered inside the Perses providers. */
export function CurrentViewBridge({
  dashboard,
  render,
}: {
  dashboard: DashboardResource;
  render: (current: () => CurrentView) => ReactNode;
}) {
  const names = (dashboard.spec.variables ?? []).map((v) => v.spec.name);
  const { timeRange } = useTimeRange();
  const values = useVariableValues(names);
  const latest = useRef<CurrentView>();
  const variables: SharedVariables = {};
  for (const name of names) {
    const value = values[name]?.value;
    if (typeof value === 'string') variables[name] = value;
    else if (Array.isArray(value)) variables[name] = value.filter((v): v is string => typeof v === 'string');
  }
  latest.current = {
    variables,
    timeRange: isRelativeTimeRange(timeRange)
      ? { pastDuration: timeRange.pastDuration }
      : { start: new Date(timeRange.start).toISOString(), end: new Date(timeRange.end).toISOString() },
  };
  const current = useCallback(() => latest.current as CurrentView, []);
  return <>{render(current)}</>;
}
