# The chat consumer, as Channels' tutorial writes it: a room is a group of the channel layer;
# a message a member sends is stamped by the server (a random id and the time) and sent to
# the whole room with the sender's name. Anonymous sockets are refused.
import json
import uuid

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import timezone


class ChatConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.user = self.scope['user']
        if not self.user.is_authenticated:
            await self.close()
            return
        self.room_name = self.scope['url_route']['kwargs']['room_name']
        self.room_group_name = 'chat_' + self.room_name
        await self.channel_layer.group_add(self.room_group_name, self.channel_name)
        await self.accept()
        await self.send(text_data=json.dumps({
            'type': 'joined',
            'room': self.room_name,
            'user': self.user.get_username(),
        }))

    async def disconnect(self, close_code):
        if hasattr(self, 'room_group_name'):
            await self.channel_layer.group_discard(self.room_group_name, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        message = json.loads(text_data)['message']
        await self.channel_layer.group_send(self.room_group_name, {
            'type': 'chat.message',
            'id': uuid.uuid4().hex,
            'ts': timezone.now().isoformat(),
            'user': self.user.get_username(),
            'message': message,
        })

    async def chat_message(self, event):
        user = event['user']
        if settings.VARIANT == 'changed':
            user = user.upper()
        await self.send(text_data=json.dumps({
            'type': 'message',
            'id': event['id'],
            'ts': event['ts'],
            'user': user,
            'message': event['message'],
        }))
