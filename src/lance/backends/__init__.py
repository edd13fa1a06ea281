"""Chat backends: one interface (``ChatModel``), several real implementations."""

from lance.backends._registry import get_chat_model, params_from_config
from lance.backends.base import ChatModel, Completion, GenerateParams, Message, MessagesLike, Usage, to_messages
from lance.backends.scripted import ScriptedChatModel

__all__ = [
    "ChatModel",
    "Completion",
    "GenerateParams",
    "Message",
    "MessagesLike",
    "ScriptedChatModel",
    "Usage",
    "get_chat_model",
    "params_from_config",
    "to_messages",
]
