/**
 * Bars per UTC day, drawn as SVG (no charting library: it would be most of the bundle). One series
 * (checks per day) or several stacked (a token's checks by outcome), with a legend for several.
 */
import type { ReactNode } from 'react';
import { formatDate, formatNumber } from '../format.ts';
import type { Lang } from '../i18n.ts';

export interface DaySeries {
  label: string;
  /** A CSS class giving the bars their colour (`chart-bar`, `chart-bar-warn`, `chart-bar-bad`, …). */
  className: string;
}

export function DayBars(props: { days: { day: number; values: number[] }[]; series: DaySeries[]; lang: Lang; label: string; testId?: string }): ReactNode {
  const { days, lang, series } = props;
  const width = 720;
  const height = 220;
  const pad = { top: 16, right: 12, bottom: 30, left: 48 };
  const totals = days.map((d) => d.values.reduce((a, b) => a + b, 0));
  const max = niceMax(Math.max(2, ...totals));
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const slot = innerW / Math.max(1, days.length);
  const barW = Math.max(4, slot * 0.62);
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
        {days.map((d, i) => {
          const x = pad.left + i * slot + (slot - barW) / 2;
          const label = formatDate(d.day, lang, { day: 'numeric', month: 'short', timeZone: 'UTC' });
          let base = pad.top + innerH;
          return (
            <g key={d.day}>
              {d.values.map((value, k) => {
                const h = (value / max) * innerH;
                base -= h;
                return value > 0 || (k === 0 && totals[i] === 0) ? (
                  <rect key={k} className={series[k]!.className} x={x} y={base} width={barW} height={Math.max(h, value > 0 ? 1 : 0)} rx="2">
                    <title>{`${label}: ${series.length > 1 ? `${series[k]!.label} ` : ''}${formatNumber(value, lang)}`}</title>
                  </rect>
                ) : null;
              })}
              {/* Every other day, counted back from today, so that today always has its label. */}
              {((days.length - 1 - i) % 2 === 0 || days.length <= 8) && (
                <text className="axis" x={x + barW / 2} y={height - 10} textAnchor="middle">
                  {label}
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
