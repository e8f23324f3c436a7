//! SVG charts of the heatmap, the retention curve and the trends, drawn with `plotters`' SVG
//! backend. Colours: viridis for values (readable by the colour-blind, monotone in lightness),
//! and the Okabe–Ito palette for lines.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::activity::Trends;
use super::proficiency::Heatmap;
use super::retention::RetentionCurve;
use crate::domain::analytics::viridis;

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

/// Heatmap: one row per learner or team, one column per topic, cells coloured by predicted
/// recall with the value and n written in.
pub fn heatmap(map: &Heatmap) -> String {
    const CELL_W: u32 = 110;
    const CELL_H: u32 = 34;
    const LEFT: u32 = 190;
    const TOP: u32 = 80;
    let width = LEFT + CELL_W * map.topics.len().max(1) as u32 + 30;
    let height = TOP + CELL_H * map.rows.len().max(1) as u32 + 70;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let title = ("sans-serif", 18).into_font().color(&BLACK);
        let label = ("sans-serif", 13).into_font().color(&BLACK);
        let _ = root.draw(&Text::new(
            "Predicted recall now by topic".to_string(),
            (10, 10),
            title,
        ));
        let centred = |color: &RGBColor| {
            ("sans-serif", 12)
                .into_font()
                .color(color)
                .pos(Pos::new(HPos::Center, VPos::Center))
        };
        for (j, topic) in map.topics.iter().enumerate() {
            let x = (LEFT + CELL_W * j as u32 + CELL_W / 2) as i32;
            let _ = root.draw(&Text::new(
                short(topic, 16),
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
            for (j, c) in row.cells.iter().enumerate() {
                let x = (LEFT + CELL_W * j as u32) as i32;
                let (fill, ink) = match c.value {
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
                let text = match c.value {
                    Some(v) => format!("{:.0}% (n={})", v * 100.0, c.n),
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

/// Line chart of 0..=1 series over categorical x labels.
fn lines(title: &str, x_labels: &[String], series: &[(String, Vec<Option<f64>>)]) -> String {
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
        for (k, (name, values)) in series.iter().enumerate() {
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

/// Observed against predicted recall per bucket of days since the previous answer.
pub fn retention_curve(c: &RetentionCurve) -> String {
    let labels: Vec<String> = c
        .buckets
        .iter()
        .map(|b| format!("{} d (n={})", b.label, b.n))
        .collect();
    let title = match &c.pack {
        Some(p) => format!("Retention curve: {p}"),
        None => "Retention curve".to_string(),
    };
    lines(
        &title,
        &labels,
        &[
            (
                "observed recall".into(),
                c.buckets.iter().map(|b| b.observed_recall).collect(),
            ),
            (
                "predicted recall".into(),
                c.buckets.iter().map(|b| b.predicted_recall).collect(),
            ),
        ],
    )
}

/// Proficiency at each week's end, one line per team (and everyone in scope).
pub fn trends(t: &Trends) -> String {
    let mut weeks: Vec<String> = Vec::new();
    let mut series: Vec<(String, Vec<Option<f64>>)> = Vec::new();
    for row in &t.rows {
        if !weeks.contains(&row.week) {
            weeks.push(row.week.clone());
        }
        match series.iter_mut().find(|(name, _)| *name == row.group.team) {
            Some((_, values)) => values.push(row.proficiency),
            None => series.push((row.group.team.clone(), vec![row.proficiency])),
        }
    }
    lines("Proficiency at week end", &weeks, &series)
}
