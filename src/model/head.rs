//! Scoring head: how well each candidate fits the session, and how much to trust the server.
//! The one head formula, as burn tensors ([`Head`]: inference and the training loss) and as
//! plain f32 numbers ([`HeadParams`]: on-device learning, personal state, private updates);
//! a test checks the two agree.
//!
//! `score_k = ⟨W·s + b, c_k⟩/√d + w_rank·(−ln rank_k) + w_score·server_score_k`

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

/// Configuration of [`Head`].
#[derive(Config, Debug)]
pub struct HeadConfig {
    /// Width of session states and item vectors.
    #[config(default = 64)]
    pub d_model: usize,
    /// Score offset of a candidate the shopper already purchased in the session: the log of
    /// how much likelier (or unlikelier) a repeat purchase is than a new item, estimated on
    /// the training split (`train::repeat_log_odds`). 0 = no prior.
    #[config(default = 0.0)]
    pub repeat_log_odds: f64,
    /// Weight of the item-transition score (`crate::transitions`) of a candidate, chosen on
    /// validation with the table the bundle carries. 0 = not used.
    #[config(default = 0.0)]
    pub transition_weight: f64,
    /// Weight of the association-rule term (`crate::relations::rules`): the best confidence of
    /// a rule whose antecedent is in the session's cart and whose consequent is the candidate.
    /// Chosen on validation with the table the bundle carries. 0 = not used.
    #[config(default = 0.0)]
    pub rule_weight: f64,
}

/// The divisor of the fit: scaled like attention logits so that the softmax starts out neither
/// flat nor saturated.
pub fn scale(d: usize) -> f32 {
    (d as f32).sqrt()
}

/// score = ⟨W·session, candidate⟩/√d + w_rank·(−ln server_rank) + w_score·server_score.
///
/// The two server weights are what the model believes about the server; the personal head
/// that on-device learning updates is this module.
#[derive(Module, Debug)]
pub struct Head {
    /// Session state → query vector.
    pub query: Linear,
    /// `[2]`: weight of −ln(server rank) and of the server's own score.
    pub server: Param<Tensor<1>>,
}

impl HeadConfig {
    /// Build with random query weights and server weights at zero (trust nothing yet).
    pub fn init(&self, device: &Device) -> Head {
        Head {
            query: LinearConfig::new(self.d_model, self.d_model).init(device),
            server: Param::from_tensor(Tensor::zeros([2], device)),
        }
    }
}

impl Head {
    /// Query vectors from session states: `[.., d]` → `[.., d]`.
    pub fn query<const D: usize>(&self, session: Tensor<D>) -> Tensor<D> {
        self.query.forward(session)
    }

    /// How well each of `n` candidates fits one session.
    ///
    /// - `session`: `[1, d]` the state at the newest event
    /// - `candidates`: `[n, d]`
    /// - returns `[n]`
    pub fn fit(&self, session: Tensor<2>, candidates: Tensor<2>) -> Tensor<1> {
        let [n, _] = candidates.dims();
        self.fit_all(session, candidates).reshape([n]) // [n]
    }

    /// How well each of `p` session states fits each of `m` items (training scores every
    /// state of a batch against the whole catalog).
    ///
    /// - `states`: `[p, d]`
    /// - `items`: `[m, d]`
    /// - returns `[p, m]`
    pub fn fit_all(&self, states: Tensor<2>, items: Tensor<2>) -> Tensor<2> {
        let [_, d] = items.dims();
        self.query(states).matmul(items.transpose()).div_scalar(scale(d)) // [p, m]
    }

    /// What the server's signals add to each candidate's score.
    ///
    /// - `server`: `[n, 2]` columns −ln(rank) and server score (zeros where absent)
    /// - returns `[n]`
    pub fn trust(&self, server: Tensor<2>) -> Tensor<1> {
        let [n, _] = server.dims();
        server.matmul(self.server.val().reshape([2, 1])).reshape([n]) // [n]
    }
}

/// The head's parameters as plain numbers: the personal head that learning updates, the
/// state stores and private updates release. [`HeadParams::fit`] and [`HeadParams::trust`]
/// are [`Head::fit`] and [`Head::trust`] in f32 arithmetic.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadParams {
    /// Width.
    pub d: usize,
    /// Query weight `[d_in, d_out]`, row-major.
    pub weight: Vec<f32>,
    /// Query bias `[d]`.
    pub bias: Vec<f32>,
    /// Weights of −ln(server rank) and server score.
    pub server: [f32; 2],
}

impl HeadParams {
    /// All parameters in one flat list: weight, bias, server.
    pub fn flat(&self) -> Vec<f32> {
        self.weight.iter().chain(&self.bias).chain(&self.server).copied().collect()
    }

    /// Rebuild from [`HeadParams::flat`]; `None` if the length does not fit `d`.
    pub fn from_flat(d: usize, flat: &[f32]) -> Option<HeadParams> {
        if flat.len() != d.checked_mul(d)?.checked_add(d)?.checked_add(2)? {
            return None;
        }
        let (weight, rest) = flat.split_at_checked(d.checked_mul(d)?)?;
        let (bias, server) = rest.split_at_checked(d)?;
        Some(HeadParams { d, weight: weight.to_vec(), bias: bias.to_vec(), server: [*server.first()?, *server.get(1)?] })
    }

    /// The part a shopper may share in a private update: bias and server weights (d + 2
    /// numbers). The bias is the session-independent offset of the query, where a preference
    /// many shoppers share shows; the d×d weight is left out because the noise each release
    /// needs grows with the square root of the numbers released.
    pub fn shareable(&self) -> Vec<f32> {
        self.bias.iter().chain(&self.server).copied().collect()
    }

    /// Add a change of the shareable part (as [`HeadParams::shareable`] lays it out).
    pub fn add_shareable(&mut self, change: &[f32]) -> crate::Result<()> {
        let (bias, server) = change.split_at_checked(self.d).filter(|(_, s)| s.len() == 2).ok_or_else(|| crate::Error::invalid("update", format!("{} values, expected {}", change.len(), self.d.saturating_add(2))))?;
        self.bias.iter_mut().zip(bias).for_each(|(b, c)| *b += c);
        self.server.iter_mut().zip(server).for_each(|(w, c)| *w += c);
        Ok(())
    }

    /// `[d]` query `W·s + b` of a session state `s`.
    pub fn query(&self, session: &[f32]) -> Vec<f32> {
        // Row by row (contiguous), each sum in the order of the plain Σ_i s_i·W_ij, then + b_j.
        let mut sums = vec![0.0f32; self.d];
        for (s, row) in session.iter().zip(self.weight.chunks_exact(self.d.max(1))) {
            for (sum, w) in sums.iter_mut().zip(row) {
                *sum += s * w;
            }
        }
        sums.iter().zip(&self.bias).map(|(sum, b)| b + sum).collect()
    }

    /// The fit of each candidate vector (`[n, d]`, row-major) to `query`.
    pub fn fit(&self, query: &[f32], vectors: &[f32]) -> Vec<f32> {
        let scale = scale(self.d);
        vectors.chunks_exact(self.d).map(|c| c.iter().zip(query).map(|(a, b)| a * b).sum::<f32>() / scale).collect()
    }

    /// What the server's signals (`[n, 2]`: −ln rank, server score) add to each candidate.
    pub fn trust(&self, server: &[f32]) -> Vec<f32> {
        let [rank, score] = self.server;
        server.chunks_exact(2).map(|x| if let [log_rank, server_score] = x { rank * log_rank + score * server_score } else { 0.0 }).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn numbers_and_tensors_give_the_same_scores() {
        let device = Device::flex();
        let d = 4;
        let mut head = HeadConfig::new().with_d_model(d).init(&device);
        head.server = Param::from_data(TensorData::new(vec![0.7f32, -0.2], [2]), &device);
        let read = |t: Tensor<1>| t.into_data().try_to_vec::<f32>().unwrap();
        let params = HeadParams {
            d,
            weight: head.query.weight.val().into_data().try_to_vec::<f32>().unwrap(),
            bias: head.query.bias.as_ref().map(|b| read(b.val())).unwrap(),
            server: [0.7, -0.2],
        };
        let session = vec![0.3f32, -1.0, 0.5, 2.0];
        let vectors: Vec<f32> = (0..12).map(|i| (i as f32 * 0.7).sin()).collect();
        let server = vec![0.0, 1.5, -(2f32).ln(), 0.0, -(3f32).ln(), -4.0];
        let fit = read(head.fit(Tensor::from_data(TensorData::new(session.clone(), [1, d]), &device), Tensor::from_data(TensorData::new(vectors.clone(), [3, d]), &device)));
        let trust = read(head.trust(Tensor::from_data(TensorData::new(server.clone(), [3, 2]), &device)));
        let by_numbers = params.fit(&params.query(&session), &vectors);
        for (a, b) in fit.iter().zip(&by_numbers) {
            assert!((a - b).abs() < 1e-5, "{fit:?} vs {by_numbers:?}");
        }
        for (a, b) in trust.iter().zip(params.trust(&server)) {
            assert!((a - b).abs() < 1e-6, "{trust:?}");
        }
    }

    #[test]
    fn flat_round_trips_and_shareable_is_bias_and_server() {
        let p = HeadParams { d: 2, weight: vec![1.0, 2.0, 3.0, 4.0], bias: vec![5.0, 6.0], server: [7.0, 8.0] };
        assert_eq!(HeadParams::from_flat(2, &p.flat()), Some(p.clone()));
        assert_eq!(HeadParams::from_flat(2, &[0.0; 7]), None);
        assert_eq!(p.shareable(), vec![5.0, 6.0, 7.0, 8.0]);
        let mut q = p.clone();
        q.add_shareable(&[1.0, 1.0, 1.0, 1.0]).unwrap();
        assert_eq!((q.bias, q.server), (vec![6.0, 7.0], [8.0, 9.0]));
        assert!(p.clone().add_shareable(&[1.0]).is_err());
    }
}
