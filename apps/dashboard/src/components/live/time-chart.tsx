'use client';

import { useEffect, useRef, useState, type PointerEvent } from 'react';
import { secondsAgoLabel } from '../../lib/live';

export interface ChartSeries {
  label: string;
  values: readonly number[];
  /** 1 or 2: the stroke colour (CSS --chart-1 / --chart-2). */
  tone: 1 | 2;
  /** Fill the area under the line. */
  area?: boolean;
}

const HEIGHT = 132;
const MARGIN = { top: 8, right: 10, bottom: 22 };
const FONT_WIDTH = 6.4;

/** The width of an element, followed as it changes (the charts fill their card). */
function useWidth(fallback: number) {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const observer = new ResizeObserver(([entry]) => {
      const next = Math.floor(entry.contentRect.width);
      if (next > 0) setWidth(next);
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return [ref, width] as const;
}

/**
 * A small per-second line chart drawn as inline SVG: a y axis from 0 to a round top with three
 * labels, an x axis in seconds before now, a legend with the value under the pointer (else the
 * latest one). `top(max)` picks the axis top (e.g. a power of 1024 for bytes).
 */
export function TimeChart({
  title,
  times,
  series,
  format,
  top,
  label,
}: {
  title: string;
  times: readonly number[];
  series: readonly ChartSeries[];
  format(value: number): string;
  top(max: number): number;
  /** What the chart shows, for screen readers. */
  label: string;
}) {
  const [ref, width] = useWidth(360);
  const [hover, setHover] = useState<number>();
  const count = times.length;
  const max = Math.max(0, ...series.flatMap((line) => line.values));
  const yTop = top(max);
  const yLabels = [yTop, yTop / 2, 0].map(format);
  const left = Math.ceil(Math.max(...yLabels.map((text) => text.length)) * FONT_WIDTH) + 10;
  const plotWidth = Math.max(10, width - left - MARGIN.right);
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (index: number) => left + (count <= 1 ? 0 : (index * plotWidth) / (count - 1));
  const y = (value: number) => MARGIN.top + plotHeight * (1 - Math.min(value, yTop) / yTop);
  const shown = hover ?? count - 1;

  const onMove = (event: PointerEvent<SVGRectElement>) => {
    const box = event.currentTarget.getBoundingClientRect();
    const ratio = (event.clientX - box.left) / Math.max(1, box.width);
    setHover(Math.max(0, Math.min(count - 1, Math.round(ratio * (count - 1)))));
  };

  const ticks = [0, Math.floor((count - 1) / 2), count - 1];
  return (
    <figure className="chart">
      <figcaption className="chart-head">
        <span className="chart-title">{title}</span>
        <span className="chart-legend">
          {series.map((line) => (
            <span key={line.label} className="legend-item">
              <span className={`swatch swatch--${line.tone}`} aria-hidden="true" />
              {line.label}
              <span className="legend-value">{format(line.values[shown] ?? 0)}</span>
            </span>
          ))}
          {hover !== undefined && times[hover] !== undefined && (
            <span className="legend-time muted">
              {new Date(times[hover] * 1000).toLocaleTimeString()}
            </span>
          )}
        </span>
      </figcaption>
      <div ref={ref} className="chart-canvas">
        <svg width={width} height={HEIGHT} role="img" aria-label={label}>
          {[0, 0.5, 1].map((fraction, index) => {
            const lineY = MARGIN.top + plotHeight * fraction;
            return (
              <g key={fraction}>
                <line
                  className={fraction === 1 ? 'axis' : 'grid'}
                  x1={left}
                  x2={left + plotWidth}
                  y1={lineY}
                  y2={lineY}
                />
                <text x={left - 6} y={lineY + 4} textAnchor="end">
                  {yLabels[index]}
                </text>
              </g>
            );
          })}
          {count > 1 &&
            ticks.map((index, position) => (
              <text
                key={position}
                x={x(index)}
                y={HEIGHT - 6}
                textAnchor={position === 0 ? 'start' : position === 2 ? 'end' : 'middle'}
              >
                {/* The first point is the second that ended `count - 1` s ago: the axis starts a
                    whole window back. */}
                {secondsAgoLabel(position === 0 ? count : count - 1 - index)}
              </text>
            ))}
          {series.map((line) => {
            if (count === 0) return null;
            const points = line.values.map(
              (value, index) => `${x(index).toFixed(1)},${y(value).toFixed(1)}`,
            );
            const path = `M${points.join('L')}`;
            return (
              <g key={line.label} className={`series series--${line.tone}`}>
                {line.area && (
                  <path
                    className="series-area"
                    d={`${path}L${x(count - 1).toFixed(1)},${y(0)}L${x(0).toFixed(1)},${y(0)}Z`}
                  />
                )}
                <path className="series-line" d={path} />
              </g>
            );
          })}
          {hover !== undefined && (
            <g className="hover">
              <line x1={x(hover)} x2={x(hover)} y1={MARGIN.top} y2={MARGIN.top + plotHeight} />
              {series.map((line) => (
                <circle
                  key={line.label}
                  className={`series--${line.tone}`}
                  cx={x(hover)}
                  cy={y(line.values[hover] ?? 0)}
                  r={3}
                />
              ))}
            </g>
          )}
          <rect
            className="hit"
            x={left}
            y={MARGIN.top}
            width={plotWidth}
            height={plotHeight}
            onPointerMove={onMove}
            onPointerLeave={() => setHover(undefined)}
          />
        </svg>
      </div>
    </figure>
  );
}
