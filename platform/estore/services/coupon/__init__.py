"""Coupon service: discount codes, quotes and redemptions for checkout, welcome coupons."""
