/** Token checks per UTC day as bars: the cabinet's Usage page and the operator's dashboard. */
import type { ReactNode } from 'react';
import { formatDate, formatNumber } from '../format.ts';
import { translator, useI18n, type Lang } from '../i18n.ts';
import { Card } from './ui.tsx';

/** A card with the checks of the last days: their sum in the header, a bar per day. */
export function ChecksCard(props: { checks: { day: number; count: number }[] }): ReactNode {
  const { t, lang } = useI18n();
  const total = props.checks.reduce((s, d) => s + d.count, 0);
  return (
    <Card title={t('usage.checks')} actions={<span className="muted">{t('usage.checksTotal', { n: formatNumber(total, lang), days: props.checks.length })}</span>}>
      <ChecksChart days={props.checks} lang={lang} />
    </Card>
  );
}

/** Bars per UTC day, drawn as SVG (no charting library: it would be most of the bundle). */
export function ChecksChart(props: { days: { day: number; count: number }[]; lang: Lang }): ReactNode {
  const { days, lang } = props;
  const width = 720;
  const height = 220;
  const pad = { top: 16, right: 12, bottom: 30, left: 48 };
  const max = niceMax(Math.max(2, ...days.map((d) => d.count)));
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const slot = innerW / Math.max(1, days.length);
  const barW = Math.max(4, slot * 0.62);
  const ticks = [0, max / 2, max];
  return (
    <svg className="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={translator(props.lang)('usage.checks')} data-testid="checks-chart">
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
        const h = (d.count / max) * innerH;
        const x = pad.left + i * slot + (slot - barW) / 2;
        const label = formatDate(d.day, lang, { day: 'numeric', month: 'short', timeZone: 'UTC' });
        return (
          <g key={d.day}>
            <rect className="chart-bar" x={x} y={pad.top + innerH - h} width={barW} height={Math.max(h, d.count > 0 ? 1 : 0)} rx="2">
              <title>{`${label}: ${formatNumber(d.count, lang)}`}</title>
            </rect>
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
  );
}

/** The smallest of 2, 4, 10, 20, 40, 100, … that holds n: its half (the middle gridline) is a whole number. */
function niceMax(n: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(n));
  for (const step of [2, 4, 10]) if (step * magnitude >= n) return step * magnitude;
  return 20 * magnitude;
}
