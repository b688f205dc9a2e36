//! Scoring head: how well each candidate fits the session, and how much to trust the server.

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
        let [n, d] = candidates.dims();
        // Scaled like attention logits so that the softmax starts out neither flat nor saturated.
        candidates.matmul(self.query(session).transpose()).reshape([n]).div_scalar((d as f32).sqrt()) // [n]
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
