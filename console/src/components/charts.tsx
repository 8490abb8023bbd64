/**
 * Bars per UTC day or per bucket of time, drawn as SVG (no charting library: it would be most of
 * the bundle). One series (checks per day) or several stacked (a token's checks by outcome, the
 * operator dashboard's figures), with a legend for several.
 */
import type { ReactNode } from 'react';
import { formatDate, formatNumber } from '../format.ts';
import { useI18n, type Lang } from '../i18n.ts';
import { Card } from './ui.tsx';

/** Successful token checks per day in a card, their sum in its header: the cabinet's Usage page and the operator's dashboard. */
export function ChecksCard(props: { checks: { day: number; count: number }[] }): ReactNode {
  const { t, lang } = useI18n();
  const total = props.checks.reduce((s, d) => s + d.count, 0);
  return (
    <Card title={t('usage.checks')} actions={<span className="muted">{t('usage.checksTotal', { n: formatNumber(total, lang), days: props.checks.length })}</span>}>
      <DayBars
        days={props.checks.map((d) => ({ day: d.day, values: [d.count] }))}
        series={[{ label: t('usage.checks'), className: 'chart-bar' }]}
        lang={lang}
        label={t('usage.checks')}
        testId="checks-chart"
      />
    </Card>
  );
}

export interface DaySeries {
  label: string;
  /** A CSS class giving the bars their colour (`chart-bar`, `chart-bar-warn`, `chart-bar-bad`, …). */
  className: string;
}

export function DayBars(props: { days: { day: number; values: number[] }[]; series: DaySeries[]; lang: Lang; label: string; testId?: string }): ReactNode {
  const { days, lang } = props;
  const dayLabel = (day: number): string => formatDate(day, lang, { day: 'numeric', month: 'short', timeZone: 'UTC' });
  return (
    <Bars
      bars={days.map((d) => ({ start: d.day, values: d.values }))}
      series={props.series}
      lang={lang}
      label={props.label}
      titleOf={dayLabel}
      // Every other day, counted back from today, so that today always has its label.
      axisLabelOf={(day, i) => ((days.length - 1 - i) % 2 === 0 || days.length <= 8 ? dayLabel(day) : null)}
      {...(props.testId ? { testId: props.testId } : {})}
    />
  );
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/**
 * Bars per bucket of `bucketMs` (a minute, 15 minutes, an hour, 6 hours), times in UTC: the
 * operator dashboard. The axis names a bucket every 10 minutes, 3 hours, day or 4 days.
 */
export function TimeBars(props: { buckets: { start: number; values: number[] }[]; bucketMs: number; series: DaySeries[]; lang: Lang; label: string; testId?: string }): ReactNode {
  const { bucketMs, lang } = props;
  const every = bucketMs < 15 * MINUTE ? 10 * MINUTE : bucketMs < HOUR ? 3 * HOUR : bucketMs < 6 * HOUR ? DAY : 4 * DAY;
  const withDay = bucketMs >= HOUR;
  const time = (ms: number): string => formatDate(ms, lang, { hour: '2-digit', minute: '2-digit', timeZone: 'UTC' });
  const day = (ms: number): string => formatDate(ms, lang, { day: 'numeric', month: 'short', timeZone: 'UTC' });
  return (
    <Bars
      bars={props.buckets}
      series={props.series}
      lang={lang}
      label={props.label}
      titleOf={(ms) => `${day(ms)} ${time(ms)}–${time(ms + bucketMs)} UTC`}
      axisLabelOf={(ms) => (ms % every === 0 ? (withDay ? day(ms) : time(ms)) : null)}
      {...(props.testId ? { testId: props.testId } : {})}
    />
  );
}

/** Stacked bars with a legend for several series: the drawing behind DayBars and TimeBars. */
function Bars(props: {
  bars: { start: number; values: number[] }[];
  series: DaySeries[];
  lang: Lang;
  label: string;
  titleOf: (start: number) => string;
  axisLabelOf: (start: number, index: number) => string | null;
  testId?: string;
}): ReactNode {
  const { bars, lang, series } = props;
  const width = 720;
  const height = 220;
  const pad = { top: 16, right: 12, bottom: 30, left: 48 };
  const totals = bars.map((d) => d.values.reduce((a, b) => a + b, 0));
  const max = niceMax(Math.max(2, ...totals));
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const slot = innerW / Math.max(1, bars.length);
  const barW = Math.max(bars.length > 40 ? 2 : 4, slot * 0.62);
  const ticks = [0, max / 2, max];
  return (
    <>
      <svg className="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={props.label} data-testid={props.testId}>
        {ticks.map((v) => {
          const y = pad.top + innerH - (v / max) * innerH;
          return (
            <g key={v}>
              <line className="grid" x1={pad.left} x2={width - pad.right} y1={y} y2={y} />
              <text className="axis" x={pad.left - 8} y={y + 4} textAnchor="end">
                {formatNumber(v, lang)}
              </text>
            </g>
          );
        })}
        {bars.map((d, i) => {
          const x = pad.left + i * slot + (slot - barW) / 2;
          const title = props.titleOf(d.start);
          const axis = props.axisLabelOf(d.start, i);
          let base = pad.top + innerH;
          return (
            <g key={d.start}>
              {d.values.map((value, k) => {
                const h = (value / max) * innerH;
                base -= h;
                return value > 0 || (k === 0 && totals[i] === 0) ? (
                  <rect key={k} className={series[k]!.className} x={x} y={base} width={barW} height={Math.max(h, value > 0 ? 1 : 0)} rx={barW > 3 ? 2 : 0}>
                    <title>{`${title}: ${series.length > 1 ? `${series[k]!.label} ` : ''}${formatNumber(value, lang)}`}</title>
                  </rect>
                ) : null;
              })}
              {axis !== null && (
                <text className="axis" x={x + barW / 2} y={height - 10} textAnchor="middle">
                  {axis}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      {series.length > 1 && (
        <ul className="chart-legend">
          {series.map((s) => (
            <li key={s.label}>
              <svg width="10" height="10" aria-hidden="true">
                <rect className={s.className} width="10" height="10" rx="2" />
              </svg>{' '}
              {s.label}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

/** The smallest of 2, 4, 10, 20, 40, 100, … that holds n: its half (the middle gridline) is a whole number. */
function niceMax(n: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(n));
  for (const step of [2, 4, 10]) if (step * magnitude >= n) return step * magnitude;
  return 20 * magnitude;
}
