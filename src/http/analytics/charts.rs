//! SVG charts, drawn with `plotters`' SVG backend: a grid of coloured cells (the heatmap) and
//! lines over categories (the retention curve, the trends). Colours: viridis for values
//! (readable by the colour-blind, monotone in lightness), and the Okabe–Ito palette for lines.
//!
//! Charts take plain data ([`Grid`], [`Lines`]), not the views' reports: each view says what to
//! draw, so the charts know nothing of the views.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::domain::analytics::viridis;

/// Rows × columns of values in 0..=1, each with the number of observations behind it.
pub struct Grid {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<GridRow>,
}

pub struct GridRow {
    pub label: String,
    /// One cell per column: the value (`None`: no data) and its n.
    pub cells: Vec<(Option<f64>, u64)>,
}

/// Series of values in 0..=1 over categorical x labels.
pub struct Lines {
    pub title: String,
    pub x_labels: Vec<String>,
    pub series: Vec<Series>,
}

pub struct Series {
    pub name: String,
    /// One value per x label; `None` leaves a gap.
    pub values: Vec<Option<f64>>,
}

/// Okabe–Ito: distinguishable with every common colour-vision deficiency.
const LINES: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(0, 0, 0),
];

/// Text as drawn (the SVG backend escapes markup itself).
fn escape(s: &str) -> String {
    s.to_string()
}

fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        escape(s)
    } else {
        escape(&format!("{}…", s.chars().take(max - 1).collect::<String>()))
    }
}

/// Cells coloured by value with the value and n written in, row labels on the left and column
/// labels on top, and the colour scale below.
pub fn grid(map: &Grid) -> String {
    const CELL_W: u32 = 110;
    const CELL_H: u32 = 34;
    const LEFT: u32 = 190;
    const TOP: u32 = 80;
    let width = LEFT + CELL_W * map.columns.len().max(1) as u32 + 30;
    let height = TOP + CELL_H * map.rows.len().max(1) as u32 + 70;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let title = ("sans-serif", 18).into_font().color(&BLACK);
        let label = ("sans-serif", 13).into_font().color(&BLACK);
        let _ = root.draw(&Text::new(map.title.clone(), (10, 10), title));
        let centred = |color: &RGBColor| {
            ("sans-serif", 12)
                .into_font()
                .color(color)
                .pos(Pos::new(HPos::Center, VPos::Center))
        };
        for (j, column) in map.columns.iter().enumerate() {
            let x = (LEFT + CELL_W * j as u32 + CELL_W / 2) as i32;
            let _ = root.draw(&Text::new(
                short(column, 16),
                (x, TOP as i32 - 14),
                centred(&BLACK),
            ));
        }
        for (i, row) in map.rows.iter().enumerate() {
            let y = (TOP + CELL_H * i as u32) as i32;
            let _ = root.draw(&Text::new(
                short(&row.label, 24),
                (10, y + CELL_H as i32 / 2 - 7),
                label.clone(),
            ));
            for (j, &(value, n)) in row.cells.iter().enumerate() {
                let x = (LEFT + CELL_W * j as u32) as i32;
                let (fill, ink) = match value {
                    Some(v) => {
                        let (r, g, b) = viridis(v);
                        let ink = if v > 0.6 { BLACK } else { WHITE };
                        (RGBColor(r, g, b), ink)
                    }
                    None => (RGBColor(235, 235, 235), RGBColor(90, 90, 90)),
                };
                let _ = root.draw(&Rectangle::new(
                    [(x, y), (x + CELL_W as i32 - 2, y + CELL_H as i32 - 2)],
                    fill.filled(),
                ));
                let text = match value {
                    Some(v) => format!("{:.0}% (n={n})", v * 100.0),
                    None => "no data".to_string(),
                };
                let _ = root.draw(&Text::new(
                    text,
                    (x + CELL_W as i32 / 2, y + CELL_H as i32 / 2),
                    centred(&ink),
                ));
            }
        }
        // Legend: the scale from 0 % to 100 %.
        let ly = (TOP + CELL_H * map.rows.len().max(1) as u32 + 25) as i32;
        for k in 0..100 {
            let (r, g, b) = viridis(f64::from(k) / 99.0);
            let x = LEFT as i32 + k * 2;
            let _ = root.draw(&Rectangle::new(
                [(x, ly), (x + 2, ly + 12)],
                RGBColor(r, g, b).filled(),
            ));
        }
        let _ = root.draw(&Text::new("0%", (LEFT as i32 - 24, ly), label.clone()));
        let _ = root.draw(&Text::new("100%", (LEFT as i32 + 206, ly), label));
        let _ = root.present();
    }
    out
}

/// One line per series, with a dot per value and a legend.
pub fn lines(plot: &Lines) -> String {
    let (title, x_labels) = (&plot.title, &plot.x_labels);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (820, 460)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let n = x_labels.len().max(2);
        let chart = ChartBuilder::on(&root)
            .caption(escape(title), ("sans-serif", 18))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..(n - 1) as f64, 0f64..1f64);
        let Ok(mut chart) = chart else {
            return String::new();
        };
        let labels: Vec<String> = x_labels.iter().map(|l| escape(l)).collect();
        let _ = chart
            .configure_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    labels.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| format!("{:.0}%", y * 100.0))
            .y_desc("recall")
            .label_style(("sans-serif", 12))
            .draw();
        for (k, Series { name, values }) in plot.series.iter().enumerate() {
            let color = LINES[k % LINES.len()];
            let points: Vec<(f64, f64)> = values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.map(|v| (i as f64, v)))
                .collect();
            if let Ok(s) = chart.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            {
                s.label(escape(name)).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
            }
            let _ = chart.draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, color.filled())),
            );
        }
        let _ = chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 12))
            .position(SeriesLabelPosition::LowerLeft)
            .draw();
        let _ = root.present();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grid_draws_its_labels_values_and_gaps() {
        let svg = grid(&Grid {
            title: "Recall by topic".into(),
            columns: vec!["Closing".into(), "Discovery".into()],
            rows: vec![GridRow {
                label: "North".into(),
                cells: vec![(Some(0.75), 6), (None, 0)],
            }],
        });
        assert!(svg.starts_with("<svg"));
        for text in ["Recall by topic", "Closing", "Discovery", "North"] {
            assert!(svg.contains(text), "{text}");
        }
        assert!(svg.contains("75% (n=6)"));
        assert!(svg.contains("no data"));
    }

    #[test]
    fn lines_draw_each_series_over_the_labels() {
        let svg = lines(&Lines {
            title: "Proficiency at week end".into(),
            x_labels: vec!["2026-W10".into(), "2026-W11".into()],
            series: vec![
                Series {
                    name: "North".into(),
                    values: vec![Some(0.9), Some(0.8)],
                },
                Series {
                    name: "South".into(),
                    values: vec![None, Some(0.4)],
                },
            ],
        });
        assert!(svg.starts_with("<svg"));
        for text in [
            "Proficiency at week end",
            "2026-W10",
            "2026-W11",
            "North",
            "South",
        ] {
            assert!(svg.contains(text), "{text}");
        }
    }
}
