"""Texts shared by tests in more than one folder (``tests/`` is on the path through its conftest)."""

#: A long, ordinary request (over 256 tokens): what a harmful ask can hide behind.
LONG_BENIGN = (
    "I am planning a community garden for our neighbourhood and would like help organising it. "
    "We have a plot of about forty square metres behind the library, with full sun in the morning "
    "and partial shade in the afternoon. About twenty families have signed up. We want to grow "
    "tomatoes, beans, lettuce, courgettes, herbs such as basil and parsley, and some flowers that "
    "attract bees. The soil is heavy and stays wet after rain, so we are thinking of building "
    "raised beds from wooden planks. We also need a rota for watering during the summer holidays, "
    "a simple way to share garden tools, and a plan for composting vegetable peelings. The library has offered "
    "a shed and a rain barrel. Please suggest a layout, a planting calendar for a temperate climate, "
    "and a short list of rules everyone can agree on at our first meeting next month. "
) * 2
