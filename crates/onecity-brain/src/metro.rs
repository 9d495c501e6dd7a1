//! Loading the Hangzhou metro data (`../shared/data/metro`, January 2019, from transdim /
//! the Tianchi "Hangzhou metro" competition): the long flow table, the station adjacency
//! matrix and their mapping onto each other. Parsing is pure (text in, typed data out);
//! [`load_hangzhou`] only adds reading the two files.
//!
//! # Tensor rows and graph ids (the station-54 gap)
//! `hangzhou_graph.csv` has 81 station ids (0–80, Tianchi `roadMap`), the flow tensor 80
//! rows: one station with no trips was dropped. The data set's author says "station #54 is
//! missing" without saying whether ids start at 0 or 1. We read it as **graph id 54**
//! (Tianchi ids start at 0, and the Tianchi data has no trips for station 54): tensor row
//! `r` is graph id `r` for `r < 54` and id `r + 1` for `r ≥ 54`. Only tensor row 53 is
//! affected by the other reading (id 53 or 54); on the data the choice changes nothing
//! measurable (row 53's log-flow correlates 0.938 with id 52's row and 0.958 with id 55's).
//! Id 54 lies on a line between ids 53 and 55 (degree 2), so [`StationGraph`] contracts
//! it: 53 and 55 become neighbours, and the line stays connected.

use std::path::Path;

use chrono::NaiveDate;

use crate::calendar::{CalendarError, RestDays};
use crate::model::{FlowMatrix, FlowShape, Neighbours};

/// The graph id missing from the flow tensor (see the module doc).
pub const HANGZHOU_MISSING_GRAPH_ID: usize = 54;

/// Day 1 of `hangzhou_flow.csv`: 2019-01-01 (a public holiday).
pub fn hangzhou_first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2019, 1, 1).unwrap_or_default()
}

/// Errors loading metro data. Every message names the file and, for a bad row, its
/// 1-based line number.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{file}: cannot read: {message}")]
    Io {
        /// The file.
        file: String,
        /// The operating system's message.
        message: String,
    },
    /// A line is malformed or holds an impossible value.
    #[error("{file}: line {line}: {message}")]
    Row {
        /// The file.
        file: String,
        /// 1-based line number (the header is line 1).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A (station, day, slot) cell has no row.
    #[error("{file}: missing row station={station} day={day} slot={slot} ({missing} cells missing in all)")]
    Missing {
        /// The file.
        file: String,
        /// Station (tensor row) of the first missing cell.
        station: usize,
        /// Day (1-based, as in the file).
        day: usize,
        /// Slot of the day.
        slot: usize,
        /// How many cells have no row.
        missing: usize,
    },
    /// The calendar could not be read.
    #[error(transparent)]
    Calendar(#[from] CalendarError),
}

fn row_err(file: &str, line: usize, message: impl Into<String>) -> LoadError {
    LoadError::Row {
        file: file.to_owned(),
        line,
        message: message.into(),
    }
}

/// Parses the long flow table (`station,day,slot,count`; `station` 0-based tensor row,
/// `day` 1-based, `slot` 0-based, `count` a non-negative integer number of passengers)
/// into a [`FlowMatrix`] of `shape`, day 1 = `first_day`. `file` names the input in errors.
///
/// # Errors
/// [`LoadError::Row`] for a wrong header, a row without exactly four fields, an index out
/// of `shape`, a count that is not a number, NaN, infinite, negative or fractional, or a
/// cell given twice; [`LoadError::Missing`] naming the first cell that has no row.
pub fn parse_flow_csv(
    text: &str,
    shape: FlowShape,
    first_day: NaiveDate,
    file: &str,
) -> Result<FlowMatrix, LoadError> {
    let mut lines = text.lines().enumerate();
    let header = lines
        .next()
        .map(|(_, h)| h.trim_start_matches('\u{feff}').trim());
    if header != Some("station,day,slot,count") {
        return Err(row_err(
            file,
            1,
            format!(
                "header must be `station,day,slot,count`, found {:?}",
                header.unwrap_or("")
            ),
        ));
    }
    let cells = shape.stations * shape.time_len();
    let mut values = vec![0.0; cells];
    let mut seen = vec![false; cells];
    for (i, raw) in lines {
        let line = i + 1;
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let fields: Vec<&str> = raw.split(',').map(str::trim).collect();
        if fields.len() != 4 {
            return Err(row_err(
                file,
                line,
                format!("expected 4 fields, found {}", fields.len()),
            ));
        }
        let index = |name: &str, text: &str, lo: usize, hi: usize| -> Result<usize, LoadError> {
            match text.parse::<usize>() {
                Ok(v) if (lo..hi).contains(&v) => Ok(v),
                _ => Err(row_err(
                    file,
                    line,
                    format!("{name} {text:?} is not an integer in {lo}..={}", hi - 1),
                )),
            }
        };
        let station = index("station", fields[0], 0, shape.stations)?;
        let day = index("day", fields[1], 1, shape.days + 1)?;
        let slot = index("slot", fields[2], 0, shape.slots_per_day)?;
        let count: f64 = fields[3]
            .parse()
            .map_err(|_| row_err(file, line, format!("count {:?} is not a number", fields[3])))?;
        if !count.is_finite() {
            return Err(row_err(file, line, format!("count is {}", fields[3])));
        }
        if count < 0.0 {
            return Err(row_err(file, line, format!("count {count} is negative")));
        }
        if count.fract() != 0.0 {
            return Err(row_err(
                file,
                line,
                format!("count {count} is not a whole number of passengers"),
            ));
        }
        let t = (day - 1) * shape.slots_per_day + slot;
        let cell = t * shape.stations + station;
        if std::mem::replace(&mut seen[cell], true) {
            return Err(row_err(
                file,
                line,
                format!("station={station} day={day} slot={slot} is given twice"),
            ));
        }
        values[cell] = count;
    }
    let missing = seen.iter().filter(|s| !**s).count();
    if let Some(first) = seen.iter().position(|s| !*s) {
        let (t, station) = (first / shape.stations, first % shape.stations);
        return Err(LoadError::Missing {
            file: file.to_owned(),
            station,
            day: t / shape.slots_per_day + 1,
            slot: t % shape.slots_per_day,
            missing,
        });
    }
    FlowMatrix::from_time_major(shape, first_day, values)
        .ok_or_else(|| row_err(file, 1, "the shape has a zero dimension"))
}

/// The station adjacency matrix as given: `adjacent[i][j]` for graph ids `i`, `j`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjacency {
    /// Square 0/1 matrix, symmetric, no self-loops.
    pub adjacent: Vec<Vec<bool>>,
}

/// Parses `hangzhou_graph.csv`: a header `,0,1,…,n-1`, then `n` rows, each its id followed
/// by `n` cells of 0 or 1.
///
/// # Errors
/// [`LoadError::Row`] for a wrong header or row id, a row of the wrong length, a cell that
/// is not 0 or 1, a self-loop, or an asymmetric pair (named by both ids).
pub fn parse_graph_csv(text: &str, file: &str) -> Result<Adjacency, LoadError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or_else(|| row_err(file, 1, "empty file"))?;
    let ids: Vec<&str> = header
        .trim_start_matches('\u{feff}')
        .trim()
        .split(',')
        .collect();
    let n = ids.len().saturating_sub(1);
    if n == 0
        || !ids[0].is_empty()
        || ids[1..]
            .iter()
            .enumerate()
            .any(|(i, s)| s.trim() != i.to_string())
    {
        return Err(row_err(file, 1, "header must be `,0,1,…,n-1`"));
    }
    let mut adjacent = Vec::with_capacity(n);
    for (i, raw) in lines {
        let line = i + 1;
        let cells: Vec<&str> = raw.trim().split(',').map(str::trim).collect();
        let id = adjacent.len();
        if id >= n {
            return Err(row_err(file, line, format!("more than {n} rows")));
        }
        if cells.len() != n + 1 {
            return Err(row_err(
                file,
                line,
                format!("expected {} fields, found {}", n + 1, cells.len()),
            ));
        }
        if cells[0] != id.to_string() {
            return Err(row_err(
                file,
                line,
                format!("row id must be {id}, found {:?}", cells[0]),
            ));
        }
        let mut row = Vec::with_capacity(n);
        for (j, c) in cells[1..].iter().enumerate() {
            match *c {
                "0" => row.push(false),
                "1" if j == id => {
                    return Err(row_err(
                        file,
                        line,
                        format!("station {id} is adjacent to itself"),
                    ))
                }
                "1" => row.push(true),
                other => {
                    return Err(row_err(
                        file,
                        line,
                        format!("cell for id {j} is {other:?}, not 0 or 1"),
                    ))
                }
            }
        }
        adjacent.push(row);
    }
    if adjacent.len() != n {
        return Err(row_err(
            file,
            n + 1,
            format!("expected {n} rows, found {}", adjacent.len()),
        ));
    }
    for (i, row) in adjacent.iter().enumerate() {
        for (j, &cell) in row.iter().enumerate().take(i) {
            if cell != adjacent[j][i] {
                return Err(row_err(
                    file,
                    i + 2,
                    format!("ids {i} and {j} are adjacent one way only"),
                ));
            }
        }
    }
    Ok(Adjacency { adjacent })
}

/// The station graph over tensor rows, built from the graph ids by dropping one id that
/// has no tensor row and contracting it (its neighbours become adjacent to each other).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationGraph {
    /// Graph id of each tensor row.
    pub graph_id_of_row: Vec<usize>,
    /// Neighbours of each tensor row.
    pub neighbours: Neighbours,
}

impl StationGraph {
    /// Maps graph ids to tensor rows with `missing_id` dropped (row `r` = id `r` below it,
    /// id `r + 1` from it on) and contracts `missing_id`.
    ///
    /// # Errors
    /// [`LoadError::Row`] when `missing_id` is not a graph id.
    pub fn dropping(
        adjacency: &Adjacency,
        missing_id: usize,
        file: &str,
    ) -> Result<Self, LoadError> {
        let n = adjacency.adjacent.len();
        if missing_id >= n {
            return Err(row_err(
                file,
                1,
                format!("graph has no id {missing_id} to drop"),
            ));
        }
        let graph_id_of_row: Vec<usize> = (0..n).filter(|&id| id != missing_id).collect();
        let row_of = |id: usize| if id < missing_id { id } else { id - 1 };
        let dropped: Vec<usize> = (0..n)
            .filter(|&j| adjacency.adjacent[missing_id][j])
            .collect();
        let mut rows = Vec::with_capacity(n - 1);
        for &id in &graph_id_of_row {
            let mut nb: Vec<usize> = (0..n)
                .filter(|&j| j != missing_id && adjacency.adjacent[id][j])
                .map(row_of)
                .collect();
            if dropped.contains(&id) {
                nb.extend(dropped.iter().filter(|&&j| j != id).map(|&j| row_of(j)));
            }
            nb.sort_unstable();
            nb.dedup();
            rows.push(nb);
        }
        Ok(Self {
            graph_id_of_row,
            neighbours: Neighbours { rows },
        })
    }
}

/// The Hangzhou metro data set, ready for forecasting.
#[derive(Debug, Clone)]
pub struct MetroData {
    /// Passengers per station (tensor row) and 10-minute slot, 80 × 2,700.
    pub flow: FlowMatrix,
    /// The network over tensor rows.
    pub graph: StationGraph,
    /// Rest days (2019 mainland calendar).
    pub calendar: RestDays,
}

/// Reads `hangzhou_flow.csv` and `hangzhou_graph.csv` from `dir` (normally
/// `../shared/data/metro`) and checks that they fit together (80 rows, 81 graph ids).
///
/// # Errors
/// [`LoadError::Io`] when a file cannot be read, else the errors of [`parse_flow_csv`],
/// [`parse_graph_csv`] and [`StationGraph::dropping`], or a graph whose size does not match.
pub fn load_hangzhou(dir: &Path) -> Result<MetroData, LoadError> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).map_err(|e| LoadError::Io {
            file: path.display().to_string(),
            message: e.to_string(),
        })
    };
    let flow_file = dir.join("hangzhou_flow.csv").display().to_string();
    let graph_file = dir.join("hangzhou_graph.csv").display().to_string();
    let flow = parse_flow_csv(
        &read("hangzhou_flow.csv")?,
        FlowShape::HANGZHOU,
        hangzhou_first_day(),
        &flow_file,
    )?;
    let adjacency = parse_graph_csv(&read("hangzhou_graph.csv")?, &graph_file)?;
    if adjacency.adjacent.len() != FlowShape::HANGZHOU.stations + 1 {
        return Err(row_err(
            &graph_file,
            1,
            format!(
                "expected {} station ids (one more than the {} tensor rows), found {}",
                FlowShape::HANGZHOU.stations + 1,
                FlowShape::HANGZHOU.stations,
                adjacency.adjacent.len()
            ),
        ));
    }
    let graph = StationGraph::dropping(&adjacency, HANGZHOU_MISSING_GRAPH_ID, &graph_file)?;
    Ok(MetroData {
        flow,
        graph,
        calendar: RestDays::china_2019()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn data_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/metro")
    }

    const TINY: FlowShape = FlowShape {
        stations: 2,
        days: 1,
        slots_per_day: 2,
    };

    fn tiny(rows: &str) -> Result<FlowMatrix, LoadError> {
        parse_flow_csv(
            &format!("station,day,slot,count\n{rows}"),
            TINY,
            hangzhou_first_day(),
            "f.csv",
        )
    }

    #[test]
    fn real_flow_has_the_readme_totals() {
        let data = load_hangzhou(&data_dir()).expect("real data loads");
        let flow = &data.flow;
        assert_eq!(flow.total(), 29_248_681.0);
        // 2019-01-06 (Sunday) is day index 5, 2019-01-18 (Friday) day index 17.
        assert_eq!(flow.day_total(5), Some(971_810.0));
        assert_eq!(flow.day_total(17), Some(1_329_273.0));
        let totals: Vec<f64> = (0..25).filter_map(|d| flow.day_total(d)).collect();
        let min = totals.iter().copied().fold(f64::INFINITY, f64::min);
        let max = totals.iter().copied().fold(0.0, f64::max);
        assert_eq!((min, max), (971_810.0, 1_329_273.0));
        // First row of the file: `0,1,0,17`.
        assert_eq!(flow.get(0, 0), Some(17.0));
        let zeros = (0..80)
            .flat_map(|s| (0..2700).map(move |t| (s, t)))
            .filter(|&(s, t)| flow.get(s, t) == Some(0.0))
            .count();
        assert_eq!(zeros, 6_237);
    }

    #[test]
    fn real_graph_maps_rows_around_the_gap() {
        let data = load_hangzhou(&data_dir()).expect("real data loads");
        let g = &data.graph;
        assert_eq!(g.graph_id_of_row.len(), 80);
        assert_eq!(g.graph_id_of_row[53], 53);
        assert_eq!(g.graph_id_of_row[54], 55);
        // Id 54 (neighbours 53 and 55) is contracted: rows 53 and 54 become neighbours.
        assert!(g.neighbours.rows[53].contains(&54));
        assert!(g.neighbours.rows[54].contains(&53));
        let edges: usize = g.neighbours.rows.iter().map(Vec::len).sum::<usize>() / 2;
        assert_eq!(edges, 85 - 2 + 1);
        assert!(g.neighbours.rows.iter().all(|nb| !nb.is_empty()));
    }

    #[test]
    fn bad_flow_rows_are_named() {
        let ok = "0,1,0,1\n1,1,0,2\n0,1,1,3\n1,1,1,4\n";
        assert!(tiny(ok).is_ok());
        let err = |rows: &str| tiny(rows).expect_err("bad input").to_string();
        assert_eq!(err("0,1,0,1\n1,1,0,NaN\n"), "f.csv: line 3: count is NaN");
        assert_eq!(err("0,1,0,-4\n"), "f.csv: line 2: count -4 is negative");
        assert_eq!(
            err("0,1,0,x\n"),
            "f.csv: line 2: count \"x\" is not a number"
        );
        assert_eq!(
            err("0,1,0,1.5\n"),
            "f.csv: line 2: count 1.5 is not a whole number of passengers"
        );
        assert_eq!(err("0,1,0\n"), "f.csv: line 2: expected 4 fields, found 3");
        assert_eq!(
            err("2,1,0,1\n"),
            "f.csv: line 2: station \"2\" is not an integer in 0..=1"
        );
        assert_eq!(
            err("0,2,0,1\n"),
            "f.csv: line 2: day \"2\" is not an integer in 1..=1"
        );
        assert_eq!(
            err("0,1,0,1\n0,1,0,1\n"),
            "f.csv: line 3: station=0 day=1 slot=0 is given twice"
        );
        assert_eq!(
            err("0,1,0,1\n1,1,0,2\n1,1,1,4\n"),
            "f.csv: missing row station=0 day=1 slot=1 (1 cells missing in all)"
        );
        let bad_header =
            parse_flow_csv("a,b\n", TINY, hangzhou_first_day(), "f.csv").expect_err("header");
        assert!(bad_header
            .to_string()
            .starts_with("f.csv: line 1: header must be"));
        let missing_dir = load_hangzhou(Path::new("/nonexistent")).expect_err("no files");
        assert!(matches!(missing_dir, LoadError::Io { .. }));
    }

    #[test]
    fn bad_graphs_are_named() {
        let err = |t: &str| {
            parse_graph_csv(t, "g.csv")
                .expect_err("bad graph")
                .to_string()
        };
        assert!(parse_graph_csv(",0,1\n0,0,1\n1,1,0\n", "g.csv").is_ok());
        assert_eq!(
            err(",0,1\n0,0,1\n1,0,0\n"),
            "g.csv: line 3: ids 1 and 0 are adjacent one way only"
        );
        assert_eq!(
            err(",0,1\n0,1,0\n1,0,0\n"),
            "g.csv: line 2: station 0 is adjacent to itself"
        );
        assert_eq!(
            err(",0,1\n0,0,2\n1,0,0\n"),
            "g.csv: line 2: cell for id 1 is \"2\", not 0 or 1"
        );
        assert_eq!(
            err(",0,1\n0,0,1\n"),
            "g.csv: line 3: expected 2 rows, found 1"
        );
        assert_eq!(err("x,0,1\n"), "g.csv: line 1: header must be `,0,1,…,n-1`");
    }
}
