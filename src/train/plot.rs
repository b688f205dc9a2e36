//! Training curves as a PNG beside the model card: mean training loss and validation
//! NDCG@10 per epoch, the kept epoch marked.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::error::{Error, Result};

/// File name of the curves, in the model directory.
pub const CURVES_FILE: &str = "training-curves.png";

/// TrueType fonts to draw the labels with, tried in order (Debian's fonts-dejavu-core and
/// fonts-liberation; chromium's dependencies install them).
const FONTS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
];

/// Register the first font found as plotters' "sans-serif" (once per process).
fn register_sans() -> Result<()> {
    static REGISTERED: std::sync::OnceLock<std::result::Result<(), String>> = std::sync::OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let bytes = FONTS.iter().find_map(|path| std::fs::read(path).ok()).ok_or_else(|| format!("no TrueType font found (looked for {})", FONTS.join(", ")))?;
            // plotters keeps fonts for the life of the process.
            register_font("sans-serif", FontStyle::Normal, Box::leak(bytes.into_boxed_slice())).map_err(|_| "the font could not be read".to_string())
        })
        .clone()
        .map_err(|e| Error::model(format!("plotting: {e}")))
}

/// Write `epochs` (mean loss, validation NDCG@10; epoch 1 first) to `path`, marking `best_epoch`.
pub fn write_curves(epochs: &[(f64, f64)], best_epoch: usize, path: &Path) -> Result<()> {
    if epochs.is_empty() {
        return Err(Error::invalid("epochs", "no epoch to plot"));
    }
    register_sans()?;
    let fail = |e: &dyn std::fmt::Display| Error::model(format!("plotting {}: {e}", path.display()));
    let root = BitMapBackend::new(path, (1000, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let panels = root.split_evenly((1, 2));
    let last = epochs.len() as f64 + 0.5;
    // A final fit has no validation figures (NaN): its panel stays empty.
    let curve = |pick: fn(&(f64, f64)) -> f64| -> Vec<(f64, f64)> { epochs.iter().enumerate().map(|(i, e)| ((i + 1) as f64, pick(e))).filter(|p| p.1.is_finite()).collect() };
    let series = [("training loss (catalog softmax + guidance)", curve(|e| e.0), BLUE), ("validation NDCG@10 (sampled-100)", curve(|e| e.1), RED)];
    for (panel, (title, points, color)) in panels.iter().zip(series) {
        let (title, low, high) = if points.is_empty() {
            ("no validation NDCG@10: a final fit trains on those targets", 0.0, 1.0)
        } else {
            let (low, high) = points.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
            (title, low, high)
        };
        let pad = ((high - low) * 0.1).max(1e-3);
        let mut chart = ChartBuilder::on(panel)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0.5..last, (low - pad)..(high + pad))
            .map_err(|e| fail(&e))?;
        chart.configure_mesh().x_desc("epoch").x_label_formatter(&|x| format!("{x:.0}")).label_style(("sans-serif", 14)).draw().map_err(|e| fail(&e))?;
        chart.draw_series(LineSeries::new(points.clone(), color.stroke_width(2))).map_err(|e| fail(&e))?;
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled()))).map_err(|e| fail(&e))?;
        if let Some(&kept) = points.get(best_epoch.wrapping_sub(1)) {
            chart
                .draw_series(std::iter::once(Circle::new(kept, 7, BLACK.stroke_width(2))))
                .map_err(|e| fail(&e))?
                .label(format!("kept: epoch {best_epoch}"))
                .legend(|(x, y)| Circle::new((x + 8, y), 5, BLACK.stroke_width(2)));
            chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).label_font(("sans-serif", 14)).draw().map_err(|e| fail(&e))?;
        }
    }
    root.present().map_err(|e| fail(&e))
}

/// The consistency trade-off as a PNG: NDCG@10 against RBO and against Kendall's τ to the
/// server's order, one point per personalization blend (labelled, joined by a line), and each
/// of `marked` (settings off that curve, or on it, worth naming) circled with its legend.
pub fn write_tradeoff(points: &[crate::offline::consistency::Point], marked: &[(crate::offline::consistency::Point, String)], path: &Path) -> Result<()> {
    if points.is_empty() {
        return Err(Error::invalid("points", "nothing to plot"));
    }
    register_sans()?;
    let fail = |e: &dyn std::fmt::Display| Error::model(format!("plotting {}: {e}", path.display()));
    let root = BitMapBackend::new(path, (1000, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let panels = root.split_evenly((1, 2));
    let all = || points.iter().chain(marked.iter().map(|(p, _)| p));
    let (low, high) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.ndcg10), hi.max(p.ndcg10)));
    let pad = ((high - low) * 0.1).max(1e-3);
    type Axis = fn(&crate::offline::consistency::Point) -> f64;
    // The RBO panel draws the consistency target, a mean RBO of 0.8, as a grey line.
    let series: [(&str, Axis, Option<f64>); 2] = [("RBO (p = 0.9) with the server's order", |p| p.rbo, Some(0.8)), ("Kendall's τ with the server's order", |p| p.tau, None)];
    for (panel, (x_desc, pick, target)) in panels.iter().zip(series) {
        let xs: Vec<f64> = all().map(pick).collect();
        let (x_low, x_high) = xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        let x_pad = ((x_high - x_low) * 0.1).max(1e-3);
        let mut chart = ChartBuilder::on(panel)
            .caption("NDCG@10 (server-rerank, test) by personalization", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d((x_low - x_pad)..(x_high + x_pad), (low - pad)..(high + pad))
            .map_err(|e| fail(&e))?;
        chart.configure_mesh().x_desc(x_desc).y_desc("NDCG@10").label_style(("sans-serif", 14)).draw().map_err(|e| fail(&e))?;
        if let Some(x) = target {
            chart.draw_series(LineSeries::new([(x, low - pad), (x, high + pad)], BLACK.mix(0.4).stroke_width(1))).map_err(|e| fail(&e))?;
        }
        let line: Vec<(f64, f64)> = points.iter().map(|p| (pick(p), p.ndcg10)).collect();
        chart.draw_series(LineSeries::new(line.clone(), RED.stroke_width(2))).map_err(|e| fail(&e))?;
        chart.draw_series(line.iter().map(|&p| Circle::new(p, 3, RED.filled()))).map_err(|e| fail(&e))?;
        chart
            .draw_series(points.iter().map(|p| Text::new(format!("{}", p.budget.personalization), (pick(p), p.ndcg10), ("sans-serif", 12))))
            .map_err(|e| fail(&e))?;
        let colours = [BLACK, BLUE, GREEN, MAGENTA];
        for ((p, name), colour) in marked.iter().zip(colours.iter().cycle()) {
            let style = colour.stroke_width(2);
            chart
                .draw_series(std::iter::once(Circle::new((pick(p), p.ndcg10), 8, style)))
                .map_err(|e| fail(&e))?
                .label(name.as_str())
                .legend(move |(x, y)| Circle::new((x + 8, y), 5, style));
        }
        if !marked.is_empty() {
            chart.configure_series_labels().position(SeriesLabelPosition::LowerLeft).background_style(WHITE.mix(0.8)).border_style(BLACK).label_font(("sans-serif", 12)).draw().map_err(|e| fail(&e))?;
        }
    }
    root.present().map_err(|e| fail(&e))
}
