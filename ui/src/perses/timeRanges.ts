// The time range presets offered by the time picker (an absolute range is always available).
import { buildRelativeTimeOption, type TimeOption } from '@perses-dev/components';

const PRESETS = ['5m', '15m', '30m', '1h', '3h', '6h', '12h', '24h', '2d', '7d'] as const;

export const TIME_RANGE_OPTIONS: TimeOption[] = PRESETS.map((duration) => buildRelativeTimeOption(duration));
