"""The ``contracts`` section (``config/contracts.yaml``): service credits owed for missed SLAs.

A contract covers organisations by name or customer tiers, and says what each breach earns: a
percentage of the monthly fee per breach of a target at some priorities, capped per month.
An organisation named by a contract is judged by it before any tier's contract.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.model import Priority, TargetName


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CreditTermModel(_Strict):
    target: TargetName
    priorities: list[Priority] = Field(
        default_factory=lambda: list(Priority), description="the SLA priorities it applies to"
    )
    percent: float = Field(gt=0, le=100, description="of the monthly fee, per breach")


class ContractModel(_Strict):
    organizations: list[str] = Field(default_factory=list)
    tiers: list[str] = Field(default_factory=list, description="customer tiers it covers")
    monthly_fee: float = Field(ge=0)
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$")
    cap_percent: float = Field(100, gt=0, le=100, description="most credited in one month")
    credits: list[CreditTermModel] = Field(min_length=1)

    @model_validator(mode="after")
    def _covers_someone(self) -> ContractModel:
        if not self.organizations and not self.tiers:
            raise ValueError("name the organizations or tiers this contract covers")
        return self
