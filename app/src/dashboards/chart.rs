//! Bar charts drawn on the server as SVG: no chart script, readable with
//! JavaScript off. The chart is a picture (its summary is its label); the
//! table beside it carries the numbers for screen readers and for copying.

use leptos::prelude::*;

/// One series of bars (drawn side by side per label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    pub name: &'static str,
    /// The CSS class that colours it (`.chart .s0`, `.s1`, …).
    pub class: &'static str,
    pub values: Vec<u64>,
    /// Where each bar leads (the tickets it counts), or nothing.
    pub links: Vec<Option<String>>,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 40.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 10.0;

/// A "nice" axis maximum at or above `max` (1, 2, 5 × a power of ten).
pub fn axis_max(max: u64) -> u64 {
    if max <= 5 {
        return max.max(1);
    }
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            if m * step >= max {
                return m * step;
            }
        }
        step *= 10;
    }
}

/// Grouped bars. `labels` name each group (shown every few groups so they
/// never overlap); each bar's `<title>` says its value on hover, and a bar
/// with a link leads to what it counts.
#[component]
pub fn BarChart(
    /// What the chart shows, said in words (its accessible name).
    summary: String,
    labels: Vec<String>,
    series: Vec<Series>,
) -> impl IntoView {
    let groups = labels.len().max(1);
    let linked = series.iter().any(|s| s.links.iter().any(Option::is_some));
    let max = axis_max(
        series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .max()
            .unwrap_or(0),
    );
    let plot_w = WIDTH - LEFT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let group_w = plot_w / groups as f64;
    let bar_w = (group_w * 0.8) / series.len().max(1) as f64;
    let y = move |v: u64| TOP + plot_h - plot_h * v as f64 / max as f64;
    let label_every = groups.div_ceil(10).max(1);
    let ticks: Vec<u64> = [0, max / 2, max].into_iter().collect();
    let bars = (0..labels.len())
        .map(|g| {
            let rects = series
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let v = s.values.get(g).copied().unwrap_or(0);
                    let x = LEFT + g as f64 * group_w + group_w * 0.1 + i as f64 * bar_w;
                    let top = y(v);
                    let what = format!("{}: {} {}", labels[g], v, s.name);
                    let rect = view! {
                        <rect class=s.class x=format!("{x:.1}") y=format!("{top:.1}")
                            width=format!("{:.1}", bar_w.max(1.0))
                            height=format!("{:.1}", (TOP + plot_h - top).max(0.0))>
                            <title>{what.clone()}</title>
                        </rect>
                    };
                    match s.links.get(g).cloned().flatten() {
                        Some(href) => view! { <a href=href aria-label=what>{rect}</a> }.into_any(),
                        None => rect.into_any(),
                    }
                })
                .collect_view();
            view! { <g>{rects}</g> }
        })
        .collect_view();
    let axis = labels
        .iter()
        .enumerate()
        .filter(|(g, _)| g % label_every == 0)
        .map(|(g, l)| {
            let x = LEFT + g as f64 * group_w + group_w / 2.0;
            view! {
                <text x=format!("{x:.1}") y=format!("{:.1}", HEIGHT - 8.0) text-anchor="middle">{l.clone()}</text>
            }
        })
        .collect_view();
    let grid = ticks
        .into_iter()
        .map(|t| {
            let ty = y(t);
            view! {
                <line x1=format!("{LEFT}") x2=format!("{WIDTH}") y1=format!("{ty:.1}") y2=format!("{ty:.1}") class="grid"/>
                <text x=format!("{:.1}", LEFT - 6.0) y=format!("{:.1}", ty + 4.0) text-anchor="end">{t}</text>
            }
        })
        .collect_view();
    let legend = series
        .iter()
        .map(|s| view! { <li><span class=format!("swatch {}", s.class) aria-hidden="true"></span>{s.name}</li> })
        .collect_view();
    view! {
        <figure class="chart">
            // A picture, unless its bars are links (then a group of them).
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role=if linked { "group" } else { "img" } aria-label=summary preserveAspectRatio="xMidYMid meet">
                <g aria-hidden="true">{grid}</g>
                {bars}
                <g aria-hidden="true">{axis}</g>
            </svg>
            <ul class="legend" aria-hidden="true">{legend}</ul>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_a_round_number() {
        assert_eq!(axis_max(0), 1);
        assert_eq!(axis_max(4), 4);
        assert_eq!(axis_max(7), 10);
        assert_eq!(axis_max(11), 20);
        assert_eq!(axis_max(480), 500);
        assert_eq!(axis_max(501), 1000);
    }
}
