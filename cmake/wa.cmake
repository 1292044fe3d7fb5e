# wa_library(NAME DEPS...): one static library per folder, from every .cpp in it.
# The layer rules of DESIGN.md are whatever each folder's DEPS say; nothing else is linked.
# A folder of ours with no sources yet defines no target, and is skipped as a dependency.
function(wa_library name)
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(NOT sources)
    return()
  endif()
  add_library(wa_${name} STATIC ${sources})
  target_include_directories(wa_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_options(wa_${name} PRIVATE ${WA_WARNINGS})
  foreach(dep ${ARGN})
    if(dep MATCHES "^wa_" AND NOT TARGET ${dep})
      continue()
    endif()
    target_link_libraries(wa_${name} PUBLIC ${dep})
  endforeach()
endfunction()
