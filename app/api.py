"""Every feature's router, in the order the API document lists them."""

from fastapi import APIRouter

from app.customers.router import router as customers
from app.frequency.router import router as frequency
from app.ops.router import router as ops
from app.policies.router import router as policy
from app.tenants.router import router as api_keys
from app.touches.router import router as touches
from app.webhooks.router import router as webhooks

ROUTERS: tuple[APIRouter, ...] = (ops, api_keys, customers, touches, policy, frequency, webhooks)
