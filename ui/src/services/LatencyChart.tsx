// The service page's charts, drawn with ECharts directly (no Perses panel: the data is the
// services API's buckets, not a PromQL answer). The latency chart draws P95 (solid), P50 and P99
// (thin), the 7-day baseline (dashed), the same time last week (dotted, optional), the threshold
// as a dashed red horizontal line (markLine) and every run of breach buckets as a translucent red
// band (markArea), on a y axis scaled to the P95 (a P99 spike above it is cut at the top). Missing
// buckets (no requests) are gaps. The traffic chart has requests and
// errors per bucket as bars.
import { useEffect, useMemo, useRef } from 'react';
import { init, use, type ComposeOption, type EChartsType } from 'echarts/core';
import { BarChart, LineChart, type BarSeriesOption, type LineSeriesOption } from 'echarts/charts';
import {
  GridComponent,
  LegendComponent,
  MarkAreaComponent,
  MarkLineComponent,
  TooltipComponent,
  type GridComponentOption,
  type LegendComponentOption,
  type MarkAreaComponentOption,
  type MarkLineComponentOption,
  type TooltipComponentOption,
} from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import { toZonedTime } from 'date-fns-tz';
import Box from '@mui/material/Box';
import { useTheme } from '@mui/material/styles';
import type { Bucket } from './api';
import { ms, type BreachRun } from './format';

use([LineChart, BarChart, GridComponent, LegendComponent, MarkAreaComponent, MarkLineComponent, TooltipComponent, CanvasRenderer]);

type Option = ComposeOption<
  | LineSeriesOption
  | BarSeriesOption
  | GridComponentOption
  | LegendComponentOption
  | MarkAreaComponentOption
  | MarkLineComponentOption
  | TooltipComponentOption
>;

/** One ECharts instance in a div that follows its size; `option` replaces the previous one. */
function EChart({ option, height, testId, label }: { option: Option; height: number; testId: string; label: string }) {
  const element = useRef<HTMLDivElement>(null);
  const chart = useRef<EChartsType | undefined>(undefined);
  useEffect(() => {
    const div = element.current;
    if (!div) return undefined;
    const instance = init(div, undefined, { renderer: 'canvas' });
    chart.current = instance;
    const observer = new ResizeObserver(() => instance.resize());
    observer.observe(div);
    return () => {
      observer.disconnect();
      instance.dispose();
      chart.current = undefined;
    };
  }, []);
  useEffect(() => {
    chart.current?.setOption(option, { notMerge: true });
  }, [option]);
  return <Box ref={element} role="img" aria-label={label} data-testid={testId} sx={{ width: '100%', height }} />;
}

type Point = [number, number | null];

/**
 * The points of one field, with a null after every bucket whose successor is missing (so the line
 * breaks there) and at the end of a run of nulls in the field itself.
 */
function points(buckets: Bucket[], stepMs: number, field: (b: Bucket) => number | null | undefined, x: (ms: number) => number): Point[] {
  const out: Point[] = [];
  buckets.forEach((bucket, i) => {
    const start = Date.parse(bucket.start);
    const value = field(bucket);
    out.push([x(start), value === undefined || value === null || !Number.isFinite(value) ? null : value]);
    const next = buckets[i + 1];
    if (next && Date.parse(next.start) > start + stepMs) out.push([x(start + stepMs), null]);
  });
  return out;
}

interface ChartProps {
  buckets: Bucket[];
  stepSeconds: number;
  fromMs: number;
  toMs: number;
  /** An IANA zone to show times in (undefined: the browser's). */
  timeZone: string | undefined;
}

/** Times on the x axis: the browser's own, or shifted so that its local time shows `timeZone`. */
function axisTime(timeZone: string | undefined): (ms: number) => number {
  return timeZone ? (value) => toZonedTime(value, timeZone).getTime() : (value) => value;
}

function useAxisColors() {
  const theme = useTheme();
  return useMemo(() => ({
    text: theme.palette.text.secondary,
    line: theme.palette.divider,
    error: theme.palette.error.main,
    primary: theme.palette.primary.main,
    background: theme.palette.background.paper,
    textPrimary: theme.palette.text.primary,
  }), [theme]);
}

export function LatencyChart({
  buckets,
  stepSeconds,
  fromMs,
  toMs,
  timeZone,
  thresholdMs,
  runs,
  lastWeek,
}: ChartProps & { thresholdMs: number; runs: BreachRun[]; lastWeek: boolean }) {
  const colors = useAxisColors();
  const option = useMemo<Option>(() => {
    const x = axisTime(timeZone);
    const stepMs = Math.max(1, stepSeconds) * 1000;
    const line = (name: string, field: (b: Bucket) => number | null | undefined, style: LineSeriesOption): LineSeriesOption => ({
      name,
      type: 'line',
      data: points(buckets, stepMs, field, x),
      showSymbol: false,
      connectNulls: false,
      ...style,
    });
    const series: LineSeriesOption[] = [
      line('P50', (b) => b.p50_ms, { lineStyle: { width: 1 }, color: '#4caf50' }),
      line('P95', (b) => b.p95_ms, {
        lineStyle: { width: 2 },
        color: colors.primary,
        z: 3,
        markArea: {
          silent: true,
          itemStyle: { color: 'rgba(229, 57, 53, 0.18)' },
          data: runs.map((run) => [{ name: '', xAxis: x(run.startMs) }, { xAxis: x(run.endMs) }]),
        },
        markLine: {
          silent: true,
          symbol: 'none',
          animation: false,
          lineStyle: { type: 'dashed', width: 2, color: colors.error },
          label: { formatter: `threshold ${ms(thresholdMs)}`, position: 'insideEndTop', color: colors.error, fontSize: 11 },
          data: [{ name: 'threshold', yAxis: thresholdMs }],
        },
      }),
      line('P99', (b) => b.p99_ms, { lineStyle: { width: 1 }, color: '#ff9800' }),
      line('Baseline P95', (b) => b.baseline_p95_ms, { lineStyle: { width: 1.5, type: 'dashed' }, color: '#7e57c2' }),
    ];
    if (lastWeek) {
      series.push(line('Same time last week', (b) => b.same_time_last_week_p95_ms, { lineStyle: { width: 1.5, type: 'dotted' }, color: '#8d6e63' }));
    }
    let focus = 0;
    for (const b of buckets) {
      for (const v of [b.p95_ms, b.baseline_p95_ms, lastWeek ? b.same_time_last_week_p95_ms : null]) {
        if (typeof v === 'number' && Number.isFinite(v)) focus = Math.max(focus, v);
      }
    }
    return {
      animation: false,
      grid: { left: 56, right: 24, top: 40, bottom: 28 },
      legend: { top: 0, textStyle: { color: colors.text } },
      tooltip: {
        trigger: 'axis',
        valueFormatter: (value) => (typeof value === 'number' ? ms(value) : '—'),
        backgroundColor: colors.background,
        textStyle: { color: colors.textPrimary },
      },
      xAxis: {
        type: 'time',
        min: x(fromMs),
        max: x(toMs),
        axisLabel: { color: colors.text, hideOverlap: true },
        axisLine: { lineStyle: { color: colors.line } },
      },
      yAxis: {
        type: 'value',
        name: 'ms',
        nameTextStyle: { color: colors.text },
        min: 0,
        // Scaled to the P95 and its baselines (the SLO's quantile), with the threshold in view even
        // when every bucket is far below it; a P99 spike above that is cut at the top (its value
        // is in the tooltip).
        max: Math.ceil(Math.max(focus * 1.1, thresholdMs * 1.15)),
        axisLabel: { color: colors.text },
        splitLine: { lineStyle: { color: colors.line } },
      },
      series,
    };
  }, [buckets, stepSeconds, fromMs, toMs, timeZone, thresholdMs, runs, lastWeek, colors]);
  return <EChart option={option} height={340} testId="latency-chart" label={`Latency: P50, P95, P99, baseline and threshold ${ms(thresholdMs)}`} />;
}

export function TrafficChart({ buckets, stepSeconds, fromMs, toMs, timeZone }: ChartProps) {
  const colors = useAxisColors();
  const option = useMemo<Option>(() => {
    const x = axisTime(timeZone);
    const barWidth = Math.max(1, Math.round(600 / Math.max(1, (toMs - fromMs) / (stepSeconds * 1000))));
    return {
      animation: false,
      grid: { left: 56, right: 24, top: 32, bottom: 28 },
      legend: { top: 0, textStyle: { color: colors.text } },
      tooltip: { trigger: 'axis', backgroundColor: colors.background, textStyle: { color: colors.textPrimary } },
      xAxis: {
        type: 'time',
        min: x(fromMs),
        max: x(toMs),
        axisLabel: { color: colors.text, hideOverlap: true },
        axisLine: { lineStyle: { color: colors.line } },
      },
      yAxis: {
        type: 'value',
        minInterval: 1,
        axisLabel: { color: colors.text },
        splitLine: { lineStyle: { color: colors.line } },
      },
      series: [
        { name: 'Requests', type: 'bar', data: buckets.map((b) => [x(Date.parse(b.start)), b.count]), color: '#42a5f5', barMaxWidth: barWidth, barGap: '-100%' },
        { name: 'Errors', type: 'bar', data: buckets.map((b) => [x(Date.parse(b.start)), b.errors]), color: colors.error, barMaxWidth: barWidth, barGap: '-100%' },
      ],
    };
  }, [buckets, stepSeconds, fromMs, toMs, timeZone, colors]);
  return <EChart option={option} height={160} testId="traffic-chart" label="Requests and errors per bucket" />;
}
