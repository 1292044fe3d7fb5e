# The chat room page, and the read receipt the page posts (AJAX, X-CSRFToken) for the last
# message it showed: {id, ts} as the chat message carried them, answered with JSON.
import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST


@login_required
def room(request, room_name):
    return render(request, 'chat/room.html', {'room_name': room_name})


@login_required
@require_POST
def read(request, room_name):
    try:
        body = json.loads(request.body)
        last = {'id': str(body['id']), 'ts': str(body['ts'])}
    except (ValueError, KeyError, TypeError):
        return HttpResponseBadRequest('JSON {id, ts} expected')
    return JsonResponse({
        'room': room_name,
        'user': request.user.get_username(),
        'read': last,
        'unread': 1 if settings.VARIANT == 'changed' else 0,
    })
