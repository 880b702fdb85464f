"""Gamma exposure of an option chain: per-strike GEX, walls, the zero-gamma level and max pain.

Pure and vectorised with numpy over the whole chain at once (a full SPX chain is over 20,000
contracts); no Python loop runs per contract. Conventions (`docs/reference/gex.md`):

- Per contract, GEX = Γ × OI × 100 × S² × 0.01: dollars of delta per 1 % move of the underlying.
  Dealers are assumed long calls and short puts, so calls count positive and puts negative.
- The zero-gamma level is found by the profile method: each contract's Black-Scholes gamma is
  recomputed at trial spots from 0.8 S to 1.2 S with its own implied volatility and time to
  expiry (r = q = 0); where the net GEX changes sign the level is interpolated linearly, and when
  it never changes sign in that range there is no level (None), never an error.
- Max pain is the strike at which option holders' total intrinsic value at expiry is least.

Massive's gamma units. Massive's spec describes gamma as "change in delta per $0.01", which would
make it 100 times smaller than the usual per-$1 gamma. `gamma_unit_ratio` compares the gammas a
chain carries with the Black-Scholes gamma from each contract's own implied volatility; on the
fake chain in `tests/` (built from the reference's shapes, with gammas as Massive's examples give
them) the ratio is 1.00 within 1 %: the values are per $1 move, the usual unit, and are used as
they come. A snapshot whose ratio is near 0.01 instead is rescaled by 100 and says so
(`gamma_scale`), so a change of units upstream cannot silently shrink every figure.

Time to expiry is calendar time to the close of the expiration's last session (16:00 New York,
13:00 on an early close; `shared/gamma/snapshot.py` builds it with the market calendar), in years of
365 days, floored at one hour so a contract in its last minutes does not get an infinite gamma.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydantic import ConfigDict

from shared.gamma.figures import ChainFigures, View

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

CONTRACT_SIZE = 100.0
ONE_PERCENT = 0.01
YEAR_SECONDS = 365.0 * 24 * 3600
MIN_YEARS = 3600.0 / YEAR_SECONDS
TRIAL_LEVELS = 60
TRIAL_RANGE = (0.8, 1.2)
PROFILE_SLICE = 8192
_SQRT_2PI = math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class Chain:
    """A chain as parallel arrays, one entry per contract; NaN where Massive gave no value."""

    strike: FloatArray
    is_call: BoolArray
    # Days from the snapshot's date to each contract's expiration date.
    days_to_expiry: npt.NDArray[np.int64]
    years_to_expiry: FloatArray
    gamma: FloatArray
    iv: FloatArray
    open_interest: FloatArray
    volume: FloatArray

    def __len__(self) -> int:
        return int(self.strike.shape[0])

    def select(self, mask: BoolArray) -> Chain:
        """The contracts where `mask` is true."""
        return Chain(
            strike=self.strike[mask],
            is_call=self.is_call[mask],
            days_to_expiry=self.days_to_expiry[mask],
            years_to_expiry=self.years_to_expiry[mask],
            gamma=self.gamma[mask],
            iv=self.iv[mask],
            open_interest=self.open_interest[mask],
            volume=self.volume[mask],
        )


def bs_gamma(spot: FloatArray | float, strike: FloatArray, iv: FloatArray, years: FloatArray) -> FloatArray:
    """Black-Scholes gamma per $1 (r = q = 0); `spot` broadcasts against the contract arrays."""
    sigma_t = iv * np.sqrt(np.maximum(years, MIN_YEARS))
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = (np.log(spot / strike) + 0.5 * sigma_t * sigma_t) / sigma_t
        gamma = np.exp(-0.5 * d1 * d1) / (spot * sigma_t * _SQRT_2PI)
    return np.asarray(np.where(np.isfinite(gamma), gamma, 0.0), dtype=np.float64)


def gamma_unit_ratio(chain: Chain, spot: float) -> float | None:
    """The median of Massive's gamma over the Black-Scholes gamma from each contract's IV; None without data."""
    usable = np.isfinite(chain.gamma) & np.isfinite(chain.iv) & (chain.iv > 0) & (chain.gamma > 0)
    if not usable.any():
        return None
    theirs = chain.gamma[usable]
    ours = bs_gamma(spot, chain.strike[usable], chain.iv[usable], chain.years_to_expiry[usable])
    near_money = ours > ours.max() * 0.05  # far wings carry too little gamma to compare
    if not near_money.any():
        return None
    return float(np.median(theirs[near_money] / ours[near_money]))


def gamma_scale(ratio: float | None) -> float:
    """What Massive's gammas are multiplied by: 100 if they arrive per $0.01, else 1."""
    if ratio is not None and 0.003 < ratio < 0.03:
        return 100.0
    return 1.0


def _signed_gex(gamma: FloatArray, oi: FloatArray, spot: FloatArray | float, is_call: BoolArray) -> FloatArray:
    sign = np.where(is_call, 1.0, -1.0)
    return np.asarray(gamma * oi * CONTRACT_SIZE * np.square(spot) * ONE_PERCENT * sign, dtype=np.float64)


@dataclass(frozen=True)
class StrikeRow:
    """One strike's sums over the included expirations."""

    strike: float
    call_gex: float
    put_gex: float
    net_gex: float
    call_oi: float
    put_oi: float
    call_volume: float
    put_volume: float


class Exposure(ChainFigures):
    """A view of a chain's gamma exposure at `spot`: its figures and its per-strike rows."""

    model_config = ConfigDict(frozen=True)

    view: View
    strikes: list[StrikeRow]


def _per_strike(chain: Chain, gex: FloatArray) -> tuple[FloatArray, dict[str, FloatArray]]:
    strikes, index = np.unique(chain.strike, return_inverse=True)
    count = strikes.shape[0]
    calls = chain.is_call
    oi = np.nan_to_num(chain.open_interest)
    volume = np.nan_to_num(chain.volume)

    def summed(values: FloatArray, mask: BoolArray) -> FloatArray:
        return np.bincount(index, weights=np.where(mask, values, 0.0), minlength=count).astype(np.float64)

    sums = {
        "call_gex": summed(gex, calls),
        "put_gex": summed(gex, ~calls),
        "call_oi": summed(oi, calls),
        "put_oi": summed(oi, ~calls),
        "call_volume": summed(volume, calls),
        "put_volume": summed(volume, ~calls),
    }
    sums["net_gex"] = sums["call_gex"] + sums["put_gex"]
    return strikes, sums


def zero_gamma_level(chain: Chain, spot: float, levels: int = TRIAL_LEVELS) -> float | None:
    """The spot between 0.8 S and 1.2 S where the net GEX profile changes sign (nearest S); None if it never does."""
    usable = np.isfinite(chain.iv) & (chain.iv > 0) & np.isfinite(chain.open_interest) & (chain.open_interest > 0)
    if not usable.any():
        return None
    part = chain.select(usable)
    trial = np.linspace(TRIAL_RANGE[0] * spot, TRIAL_RANGE[1] * spot, levels)
    column = trial[:, np.newaxis]
    profile = np.zeros(levels, dtype=np.float64)
    # In slices of contracts: levels × N temporaries for a 200,000-contract chain would be ~100 MB each.
    for start in range(0, len(part), PROFILE_SLICE):
        end = start + PROFILE_SLICE
        gammas = bs_gamma(column, part.strike[start:end], part.iv[start:end], part.years_to_expiry[start:end])
        profile += _signed_gex(gammas, part.open_interest[start:end], column, part.is_call[start:end]).sum(axis=1)
    signs = np.sign(profile)
    crossings = np.nonzero(signs[:-1] * signs[1:] < 0)[0]
    exact = np.nonzero(profile == 0)[0]
    candidates = [float(trial[i]) for i in exact]
    for i in crossings:
        low, high = trial[i], trial[i + 1]
        g_low, g_high = profile[i], profile[i + 1]
        candidates.append(float(high - (high - low) * g_high / (g_high - g_low)))
    if not candidates:
        return None
    return min(candidates, key=lambda level: abs(level - spot))


def pain_by_strike(chain: Chain) -> tuple[FloatArray, FloatArray]:
    """Each distinct strike S (sorted) and the holders' total intrinsic value if the chain settles at S.

    O(N log N), no strikes × contracts matrix: with per-strike sums over sorted strikes, the calls
    at or below S are worth S × ΣOI − Σ(OI × K) and the puts above S are worth Σ(OI × K) − S × ΣOI.
    """
    oi = np.nan_to_num(chain.open_interest)
    strikes, index = np.unique(chain.strike, return_inverse=True)
    count = strikes.shape[0]

    def summed(values: FloatArray, mask: BoolArray) -> FloatArray:
        return np.bincount(index, weights=np.where(mask, values, 0.0), minlength=count).astype(np.float64)

    call_oi = np.cumsum(summed(oi, chain.is_call))
    call_oik = np.cumsum(summed(oi * chain.strike, chain.is_call))
    put_oi = np.cumsum(summed(oi, ~chain.is_call))
    put_oik = np.cumsum(summed(oi * chain.strike, ~chain.is_call))
    calls = strikes * call_oi - call_oik
    puts = (put_oik[-1] - put_oik) - strikes * (put_oi[-1] - put_oi) if count else put_oik
    return strikes, np.asarray(calls + puts, dtype=np.float64)


def max_pain(chain: Chain) -> float | None:
    """The strike where the holders' total intrinsic value at expiry (Σ OI × payoff) is least."""
    oi = np.nan_to_num(chain.open_interest)
    if len(chain) == 0 or not (oi > 0).any():
        return None
    strikes, pain = pain_by_strike(chain)
    return float(strikes[int(np.argmin(pain))])


def view_mask(chain: Chain, view: View) -> BoolArray:
    """Which contracts a view includes: every one, the nearest expiration's, or those within 30 days."""
    if view == "all" or len(chain) == 0:
        return np.ones(len(chain), dtype=np.bool_)
    if view == "nearest":
        return np.asarray(chain.days_to_expiry == chain.days_to_expiry.min(), dtype=np.bool_)
    return np.asarray(chain.days_to_expiry <= 30, dtype=np.bool_)


def exposure(chain: Chain, spot: float, view: View = "all", *, levels: int = TRIAL_LEVELS) -> Exposure:
    """The gamma exposure of the contracts `view` includes, at `spot`."""
    part = chain.select(view_mask(chain, view))
    has_greeks = np.isfinite(part.gamma)
    has_oi = np.isfinite(part.open_interest)
    counted = has_greeks & has_oi
    signed = _signed_gex(np.nan_to_num(part.gamma), np.nan_to_num(part.open_interest), spot, part.is_call)
    gex = np.where(counted, signed, 0.0)
    strikes, sums = _per_strike(part, gex)
    call_wall = float(strikes[int(np.argmax(sums["call_gex"]))]) if (sums["call_gex"] > 0).any() else None
    put_wall = float(strikes[int(np.argmin(sums["put_gex"]))]) if (sums["put_gex"] < 0).any() else None
    nearest = part.select(view_mask(part, "nearest"))
    rows = [
        StrikeRow(
            strike=float(strikes[i]),
            call_gex=float(sums["call_gex"][i]),
            put_gex=float(sums["put_gex"][i]),
            net_gex=float(sums["net_gex"][i]),
            call_oi=float(sums["call_oi"][i]),
            put_oi=float(sums["put_oi"][i]),
            call_volume=float(sums["call_volume"][i]),
            put_volume=float(sums["put_volume"][i]),
        )
        for i in range(strikes.shape[0])
    ]
    return Exposure(
        view=view,
        spot=spot,
        net_gex=float(gex.sum()),
        call_gex=float(sums["call_gex"].sum()),
        put_gex=float(sums["put_gex"].sum()),
        call_wall=call_wall,
        put_wall=put_wall,
        zero_gamma=zero_gamma_level(part, spot, levels),
        max_pain=max_pain(nearest),
        contracts=len(part),
        contracts_without_greeks=int((~has_greeks).sum()),
        contracts_without_open_interest=int((~has_oi).sum()),
        strikes=rows,
    )
