"""The one place that talks to Stripe, through the official SDK."""

from __future__ import annotations

from dataclasses import dataclass

import stripe

from marketplace.core.errors import DomainError
from marketplace.core.http import load_json


class CardPaymentsUnavailable(DomainError):
    status = 503
    title = "Card payments are not configured"


class PaymentProviderError(DomainError):
    status = 502
    title = "The payment provider refused or failed"


class RefundRefused(DomainError):
    """Stripe answered that it will not make this refund: asking again changes nothing."""

    status = 502
    title = "The payment provider refused the refund"


class WebhookSignatureInvalid(DomainError):
    status = 400
    title = "Webhook signature invalid"


# The metadata key under which each refund carries our idempotency key.
REFUND_KEY = "shanhai_refund"


def refund_key(refund: dict) -> str | None:
    return (refund.get("metadata") or {}).get(REFUND_KEY)


@dataclass(frozen=True)
class StripeSettings:
    secret_key: str | None
    webhook_secrets: tuple[str, ...]
    api_base: str | None = None
    tolerance_seconds: int = 300


class StripeGateway:
    def __init__(self, settings: StripeSettings) -> None:
        self.settings = settings
        self._client = None
        if settings.secret_key:
            self._client = stripe.StripeClient(
                settings.secret_key,
                base_addresses={"api": settings.api_base} if settings.api_base else None,
                max_network_retries=2,
            )

    @property
    def client(self) -> stripe.StripeClient:
        if self._client is None:
            raise CardPaymentsUnavailable(
                "card payment is not set up on this server (STRIPE_SECRET_KEY); pay by bank transfer instead"
            )
        return self._client

    def create_payment_intent(
        self, *, amount_fen: int, currency: str, order_reference: str, idempotency_key: str
    ) -> stripe.PaymentIntent:
        return self._call(
            self.client.v1.payment_intents.create,
            params={
                "amount": amount_fen,
                "currency": currency.lower(),
                "metadata": {"order_reference": order_reference},
            },
            options={"idempotency_key": idempotency_key},
        )

    def retrieve_payment_intent(self, payment_intent_id: str) -> stripe.PaymentIntent:
        return self._call(self.client.v1.payment_intents.retrieve, payment_intent_id)

    def refunded_so_far(self, payment_intent_id: str) -> int:
        refunds = self._call(
            self.client.v1.refunds.list, params={"payment_intent": payment_intent_id, "limit": 100}
        )
        return sum(refund.amount for refund in refunds.data if refund.status != "failed")

    def refund_once(self, *, payment_intent_id: str, amount_fen: int, reason: str, key: str) -> stripe.Refund:
        """The refund carrying `key`: found among the payment's refunds if an earlier try made it
        (its answer lost, or past the 24 hours Stripe keeps idempotency keys), else created.

        RefundRefused when Stripe refuses it for good; PaymentProviderError when it could not be
        asked or did not answer, and the refund may or may not exist.
        """
        refunds = self._call(
            self.client.v1.refunds.list, params={"payment_intent": payment_intent_id, "limit": 100}
        )
        made = next((refund for refund in refunds.data if refund_key(refund.to_dict()) == key), None)
        if made is not None:
            return made
        try:
            return self.client.v1.refunds.create(
                params={
                    "payment_intent": payment_intent_id,
                    "amount": amount_fen,
                    "metadata": {"reason": reason[:400], REFUND_KEY: key},
                },
                options={"idempotency_key": key},
            )
        except (stripe.InvalidRequestError, stripe.CardError, stripe.PermissionError) as error:
            raise RefundRefused(f"Stripe answered: {error.user_message or error}") from error
        except stripe.StripeError as error:
            raise PaymentProviderError(f"Stripe answered: {error.user_message or error}") from error

    def refunds_of(self, payment_intent_id: str) -> list[stripe.Refund]:
        return list(
            self._call(
                self.client.v1.refunds.list, params={"payment_intent": payment_intent_id, "limit": 100}
            ).data
        )

    def verify_event(self, payload: bytes, signature_header: str | None) -> dict:
        """The event, if any configured secret signed it within the tolerance."""
        if not self.settings.webhook_secrets:
            raise CardPaymentsUnavailable("no STRIPE_WEBHOOK_SECRETS are configured")
        if not signature_header:
            raise WebhookSignatureInvalid("the Stripe-Signature header is missing")
        for secret in self.settings.webhook_secrets:
            try:
                stripe.WebhookSignature.verify_header(
                    payload.decode("utf-8", "replace"),
                    signature_header,
                    secret,
                    self.settings.tolerance_seconds,
                )
            except stripe.SignatureVerificationError:
                continue
            return load_json(payload)
        raise WebhookSignatureInvalid("no configured secret signed this payload recently")

    @staticmethod
    def _call(method, *args, **kwargs):
        try:
            return method(*args, **kwargs)
        except stripe.StripeError as error:
            raise PaymentProviderError(f"Stripe answered: {error.user_message or error}") from error
