"""Refine stage: rewrite a prompt along its textual gradient, re-assess, accept or reject."""
